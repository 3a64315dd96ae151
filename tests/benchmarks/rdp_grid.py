"""Opacus's RDP accountant on the grids of scripts/bench-peers, in the formats of rdp_grid.cpp.

  rdp_grid.py < grid.txt          first line the orders, then `q sigma steps delta` per line;
                                  prints q sigma steps delta epsilon order (compute_rdp +
                                  get_privacy_spent, Opacus's RDP analysis)
  rdp_grid.py --noise < ours.txt  first line the orders, then our solver's lines
                                  `target delta q steps sigma_ours`; prints
                                  target delta q steps sigma_ours sigma_opacus eps_opacus(sigma_ours)
                                  with sigma_opacus from get_noise_multiplier (accountant "rdp",
                                  its default epsilon_tolerance 0.01)
"""
import sys

from opacus.accountants.analysis import rdp
from opacus.accountants.utils import get_noise_multiplier


def epsilon(orders, q, sigma, steps, delta):
    values = rdp.compute_rdp(q=q, noise_multiplier=sigma, steps=steps, orders=orders)
    eps, order = rdp.get_privacy_spent(orders=orders, rdp=values, delta=delta)
    return float(eps), float(order)


def main():
    noise = sys.argv[1:] == ["--noise"]
    lines = sys.stdin.read().splitlines()
    orders = [float(a) for a in lines[0].split()]
    for line in lines[1:]:
        if not line.strip():
            continue
        if noise:
            target, delta, q, steps, sigma = line.split()
            target, delta, q, steps = float(target), float(delta), float(q), int(steps)
            theirs = get_noise_multiplier(target_epsilon=target, target_delta=delta,
                                          sample_rate=q, steps=steps, accountant="rdp",
                                          alphas=orders)
            eps, _ = epsilon(orders, q, float(sigma), steps, delta)
            print(f"{target!r} {delta!r} {q!r} {steps} {sigma} {float(theirs)!r} {eps!r}")
        else:
            q, sigma, steps, delta = line.split()
            q, sigma, steps, delta = float(q), float(sigma), int(steps), float(delta)
            eps, order = epsilon(orders, q, sigma, steps, delta)
            print(f"{q!r} {sigma!r} {steps} {delta!r} {eps!r} {order!r}")


if __name__ == "__main__":
    main()
