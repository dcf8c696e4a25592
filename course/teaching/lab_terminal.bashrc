# JupyterLab terminals of `make lab` (course/teaching/lab.py): your usual bash start-up, then the kit's venv.
[ -f /etc/bash.bashrc ] && . /etc/bash.bashrc
[ -f "$HOME/.bashrc" ] && . "$HOME/.bashrc"
if [ -n "$DAY7_VENV" ] && [ -x "$DAY7_VENV/bin/python" ]; then
    export VIRTUAL_ENV="$DAY7_VENV"
    export PATH="$DAY7_VENV/bin:$PATH"
fi
