from experiments.activations import main

main()
