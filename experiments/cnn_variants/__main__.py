from experiments.cnn_variants import main

main()
