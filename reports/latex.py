"""Compile a report's ``.tex`` with pdflatex, locked down.

A report's text comes from manifests and the store, so its LaTeX is compiled as
untrusted input would be: ``-no-shell-escape`` (no ``\\write18``), and
kpathsea's ``openin_any=p`` / ``openout_any=p`` (paranoid: no file read or
written by absolute path, in a parent folder, or hidden), so that even a
command that slipped through escaping cannot read ``/etc/passwd`` into the PDF.
``-recorder`` lists every file pdflatex opened in ``<name>.fls``
(:func:`files_read`).
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
from collections.abc import Mapping

#: Command-line flags of every pdflatex run.
PDFLATEX_FLAGS = ("-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error", "-recorder")

#: kpathsea settings of every pdflatex run (environment variables).
KPATHSEA_ENV = {"openin_any": "p", "openout_any": "p"}


def pdflatex_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with :data:`KPATHSEA_ENV` set over it."""
    env = dict(os.environ if base is None else base)
    env.update(KPATHSEA_ENV)
    return env


def compile_latex(tex_path: str | pathlib.Path, *, pdflatex: str | None = None,
                  timeout: float = 180) -> subprocess.CompletedProcess:
    """Run pdflatex once on ``tex_path``, in its folder, with :data:`PDFLATEX_FLAGS`.

    Parameters
    ----------
    tex_path : str or pathlib.Path
        The document; its figures are found relative to its folder.
    pdflatex : str, optional
        The executable (default: ``pdflatex`` on the ``PATH``).
    timeout : float
        Seconds before the run is killed.

    Returns
    -------
    subprocess.CompletedProcess
        ``returncode`` 0 when the PDF was written; ``stdout`` is pdflatex's transcript.

    Raises
    ------
    FileNotFoundError
        pdflatex is not installed.
    """
    exe = pdflatex or shutil.which("pdflatex")
    if exe is None:
        raise FileNotFoundError("pdflatex is not installed (Debian: apt-get install texlive-latex-base "
                                "texlive-latex-recommended texlive-pictures)")
    path = pathlib.Path(tex_path)
    return subprocess.run([exe, *PDFLATEX_FLAGS, path.name], cwd=path.parent, env=pdflatex_environment(),
                          capture_output=True, text=True, timeout=timeout, check=False)


def files_read(tex_path: str | pathlib.Path) -> list[str]:
    """The files the last :func:`compile_latex` of ``tex_path`` read (``INPUT`` lines of its ``.fls``)."""
    fls = pathlib.Path(tex_path).with_suffix(".fls")
    return [line[len("INPUT "):] for line in fls.read_text(encoding="utf-8", errors="replace").splitlines()
            if line.startswith("INPUT ")]
