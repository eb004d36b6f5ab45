from experiments.conv_speed import main

main()
