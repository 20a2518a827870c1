from openclaw_board.cli import main

main()
