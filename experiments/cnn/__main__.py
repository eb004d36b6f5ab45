from experiments.cnn import main

main()
