from experiments.gradients import main

main()
