from experiments.batch_norm import main

main()
