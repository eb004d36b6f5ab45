from experiments.im2col import main

main()
