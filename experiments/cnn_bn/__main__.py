from experiments.cnn_bn import main

main()
