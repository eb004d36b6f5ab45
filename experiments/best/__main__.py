from experiments.best import main

main()
