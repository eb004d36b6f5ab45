from experiments.losses import main

main()
