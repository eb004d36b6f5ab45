from experiments.optimizers import main

main()
