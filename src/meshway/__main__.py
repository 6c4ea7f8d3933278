from meshway.cli.main import main

main()
