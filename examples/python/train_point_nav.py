"""Meta-train Meta-SGD on point-nav from Python, evaluate it on held-out goals and look
at the learned step sizes α: the README's Python quick start, notebook-sized.

    PYTHONPATH=build/python /usr/bin/python3 examples/python/train_point_nav.py [RUN_DIR] [ITERATIONS]
"""

import sys
import tempfile

import metarl


def main():
    run = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="metarl-") + "/nav"
    iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 60

    def progress(metrics):
        if metrics["iteration"] % 10 == 0:
            print(f"iteration {metrics['iteration']:4d}: return before {metrics['return_before']:8.2f}, "
                  f"after one step {metrics['return_after']:8.2f}")

    # point-nav's training defaults (Adam 0.003 decaying linearly) apply; keys as in configs/.
    metarl.train(env="point-nav", iterations=iterations, meta_batch=20, rollouts=20, out=run, callback=progress)
    report = metarl.evaluate(run, split="heldout", tasks=40, rollouts=40, steps=3)
    print(report.table)

    experiment = metarl.Experiment(env="point-nav")
    experiment.load_checkpoint(run)
    for name, alpha in zip(experiment.parameter_names, experiment.alpha):
        print(f"alpha of {name:14s} {tuple(alpha.shape)!s:12s} mean {alpha.mean().item():.4f} "
              f"[{alpha.min().item():.4f}, {alpha.max().item():.4f}]")


if __name__ == "__main__":
    main()
