"""`python -m candlelake.simulator serve ...`"""

from candlelake.simulator.cli import app

if __name__ == "__main__":
    app()
