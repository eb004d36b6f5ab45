from experiments.mlp import main

main()
