from experiments.filters import main

main()
