from experiments.dropout import main

main()
