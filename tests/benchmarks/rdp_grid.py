"""Opacus's RDP accountant on the grid of scripts/bench-peers, in the same format as rdp_grid.cpp.

Opacus's accountant package imports torch (for its optimizer hooks); its analysis module
(opacus/accountants/analysis/rdp.py: compute_rdp, get_privacy_spent) needs only numpy and scipy,
so it is loaded from the installed opacus by its path. Usage: rdp_grid.py < grid.txt
"""
import importlib.util
import pathlib
import sys

import opacus_location  # noqa: F401  (written by scripts/bench-peers: OPACUS_DIR)


def load_rdp():
    path = pathlib.Path(opacus_location.OPACUS_DIR) / "accountants" / "analysis" / "rdp.py"
    spec = importlib.util.spec_from_file_location("opacus_rdp_analysis", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    rdp = load_rdp()
    lines = sys.stdin.read().splitlines()
    orders = [float(a) for a in lines[0].split()]
    for line in lines[1:]:
        if not line.strip():
            continue
        q, sigma, steps, delta = line.split()
        q, sigma, steps, delta = float(q), float(sigma), int(steps), float(delta)
        values = rdp.compute_rdp(q=q, noise_multiplier=sigma, steps=steps, orders=orders)
        eps, order = rdp.get_privacy_spent(orders=orders, rdp=values, delta=delta)
        print(f"{q!r} {sigma!r} {steps} {delta!r} {float(eps)!r} {float(order)!r}")


if __name__ == "__main__":
    main()
