from experiments.init_loss import main

main()
