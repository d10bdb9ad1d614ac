"""``python -m labelloop.cli``: the command line."""

from labelloop.cli import main

if __name__ == "__main__":
    main()
