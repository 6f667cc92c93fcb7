from momentum_cli.app import main

main()
