from experiments.time_to_accuracy import main

main()
