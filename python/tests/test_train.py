"""Training and evaluation from Python: the command line's runs, keys and errors."""

import json
import os
import signal
import threading

import numpy as np
import pytest
import torch

import metarl
from conftest import TINY, cli, metrics_without_time, tiny_flags


def test_train_from_python_is_the_command_lines_run(tmp_path):
    ours = tmp_path / "python"
    theirs = tmp_path / "cli"
    seen = []
    # On the same kernels: the command line's blas_kernels auto would start itself on the
    # CPU's own where OpenBLAS fell back, and this process keeps the ones it loaded.
    metarl.train(out=ours, env="point-nav", seed=3, callback=seen.append, blas_kernels="openblas", **TINY)
    cli("train", "--env", "point-nav", "--seed", "3", *tiny_flags(), "--quiet", "--blas-kernels", "openblas",
        "--out", str(theirs))
    assert metrics_without_time(ours / "metrics.csv") == metrics_without_time(theirs / "metrics.csv")
    assert (ours / "config.yaml").read_text() == (theirs / "config.yaml").read_text()
    assert [m["iteration"] for m in seen] == [1, 2]
    assert {"return_before", "return_after", "alpha_mean", "env_steps"} <= set(seen[0])
    # A YAML file and keywords layer as --config and --set do.
    config = tmp_path / "c.yaml"
    config.write_text("env: point-nav\nseed: 3\nmeta_batch: 7\n")
    assert "meta_batch: 2\n" in metarl.effective_config(config, meta_batch=2)
    assert "meta_batch: 7\n" in metarl.effective_config(config)


def test_bad_keys_and_values_are_value_errors_naming_them(tmp_path):
    with pytest.raises(ValueError, match=r"unknown training config key 'meta_bach' \(did you mean 'meta_batch'\?\)"):
        metarl.train(out=tmp_path / "a", meta_bach=3)
    with pytest.raises(ValueError, match="'iterations': value '0'"):
        metarl.train(out=tmp_path / "b", iterations=0)
    with pytest.raises(ValueError, match="unknown environment 'pointnav'"):
        metarl.train(out=tmp_path / "c", env="pointnav")
    assert not (tmp_path / "c").exists(), "nothing is written for a refused run"


def test_resume_extends_and_evaluate_matches_the_command_line(tmp_path):
    run = tmp_path / "run"
    metarl.train(out=run, **TINY)
    with pytest.raises(ValueError, match="already holds a run"):
        metarl.train(out=run, **TINY)
    metarl.train(out=run, resume=True, iterations=3)
    assert len((run / "metrics.csv").read_text().splitlines()) == 4
    report = metarl.evaluate(run, split="heldout", tasks=4, rollouts=2, steps=2, oracle_tasks=2,
                             oracle_iterations=3)
    # On the kernels this process runs: the command line's blas_kernels auto starts itself
    # on faster ones where OpenBLAS fell back, which changes the last digits.
    cli_report = json.loads(cli("eval", str(run), "--split", "heldout", "--tasks", "4", "--rollouts", "2",
                                "--steps", "2", "--oracle-tasks", "2", "--oracle-iterations", "3", "--json",
                                "--no-save", "--quiet", "--blas-kernels", "openblas").stdout)
    assert report["methods"] == cli_report["methods"]
    assert report["oracle"] == cli_report["oracle"] and len(report["oracle"]["task_returns"]) == 2
    assert "gap to the oracle" in report.table
    assert "gain over step 0" in report.table
    assert len(report.tasks) == 4 and "goal_x" in report.tasks[0]["parameters"]
    assert not (run / "eval_heldout.json").exists(), "evaluate writes nothing"


def test_evaluate_over_rounds_is_the_command_lines_rounds_report(tmp_path):
    run = tmp_path / "run"
    metarl.train(out=run, **TINY)
    keys = dict(split="test", tasks=3, rollouts=2, rounds=3, task_process=["goal_x=walk(0.1)", "goal_y=drift(0.2)"])
    seen = []
    report = metarl.evaluate(run, progress=lambda *args: seen.append(args), **keys)
    cli_report = json.loads(cli("eval", str(run), "--split", "test", "--tasks", "3", "--rollouts", "2", "--rounds", "3",
                                "--task-process", "goal_x=walk(0.1),goal_y=drift(0.2)", "--json", "--no-save",
                                "--quiet", "--blas-kernels", "openblas").stdout)
    assert report["curves"] == cli_report["curves"]
    assert report["task_process"] == "[goal_x=walk(0.1), goal_y=drift(0.2)]"
    assert list(report["curves"]) == ["meta-sgd continuous", "meta-sgd restart", "meta-sgd none"]
    assert len(report.tasks) == 3 and len(report.tasks[0]["parameters"]) == 3
    assert seen[0][:3] == ("meta-sgd continuous", 1, 3)
    assert seen[0][3] == pytest.approx(report["curves"]["meta-sgd continuous"]["mean"][0], rel=1e-5)
    assert "meta-sgd continuous - meta-sgd none" in report.table
    assert not (run / "eval_test_rounds.json").exists(), "evaluate writes nothing"
    with pytest.raises(ValueError, match="'steps'"):
        metarl.evaluate(run, rounds=3, steps=1)


def test_online_adaptation_trains_and_evaluates_through_the_python_api(tmp_path):
    # Adapting every 5 steps within one episode (issue P): training with adapt_every, and
    # the rounds report over segments, the command line's numbers.
    run = tmp_path / "run"
    metarl.train(out=run, **dict(TINY, horizon=15, adapt_every=5, task_process=["goal_x=walk(0.1)"]))
    keys = dict(split="test", tasks=3, rollouts=2, rounds=3, adapt_every=5)
    report = metarl.evaluate(run, **keys)
    cli_report = json.loads(cli("eval", str(run), "--split", "test", "--tasks", "3", "--rollouts", "2", "--rounds", "3",
                                "--adapt-every", "5", "--json", "--no-save", "--quiet", "--blas-kernels",
                                "openblas").stdout)
    assert report["adapt_every"] == 5 and report["curves"] == cli_report["curves"]
    assert report["task_process"] == "[goal_x=walk(0.1)]", "the run's own process"
    with pytest.raises(ValueError, match="'adapt_every'"):
        metarl.evaluate(run, rounds=4, adapt_every=5)  # 4 segments of 5 > horizon 15
    # The task changing at a random step inside each segment: recorded in the report, and
    # the command line's numbers; refused without segments.
    inside = metarl.evaluate(run, **keys, task_change_step="random")
    cli_inside = json.loads(cli("eval", str(run), "--split", "test", "--tasks", "3", "--rollouts", "2", "--rounds",
                                "3", "--adapt-every", "5", "--task-change-step", "random", "--json", "--no-save",
                                "--quiet", "--blas-kernels", "openblas").stdout)
    assert inside["task_change_step"] == "random" and inside["curves"] == cli_inside["curves"]
    assert inside["task_change_steps"] == cli_inside["task_change_steps"]
    assert inside["task_change_steps"][0] == [0, 0, 0]
    assert all(0 <= step < 5 for round_steps in inside["task_change_steps"] for step in round_steps)
    with pytest.raises(ValueError, match="'task_change_step'"):
        metarl.evaluate(run, split="test", tasks=3, rollouts=2, rounds=3, task_change_step="random")
    changed = tmp_path / "changed"
    metarl.train(out=changed, **dict(TINY, horizon=15, adapt_every=5, task_process=["goal_x=walk(0.1)"],
                                     task_change_step="random"))
    assert "task_change_step: random\n" in (changed / "config.yaml").read_text()


def test_truncated_back_propagation_trains_as_the_command_line_does(tmp_path):
    # backprop_steps (issue P): a chain of three rounds back-propagated through its last
    # step only, from Python and from the command line; a b past the chain is refused.
    keys = dict(TINY, inner_steps=2, task_process=["goal_x=walk(0.1)"], blas_kernels="openblas")
    ours = tmp_path / "python"
    theirs = tmp_path / "cli"
    metarl.train(out=ours, backprop_steps=1, **keys)
    cli("train", *tiny_flags(), "--inner-steps", "2", "--task-process", "goal_x=walk(0.1)", "--backprop-steps", "1",
        "--quiet", "--blas-kernels", "openblas", "--out", str(theirs))
    assert "backprop_steps: 1\n" in (ours / "config.yaml").read_text()
    assert metrics_without_time(ours / "metrics.csv") == metrics_without_time(theirs / "metrics.csv")
    whole = tmp_path / "whole"
    metarl.train(out=whole, **keys)
    assert metrics_without_time(whole / "metrics.csv") != metrics_without_time(ours / "metrics.csv")
    with pytest.raises(ValueError, match="'backprop_steps': value '3' is invalid with inner_steps 2"):
        metarl.train(out=tmp_path / "past", backprop_steps=3, **keys)
    refused = cli("train", *tiny_flags(), "--inner-steps", "2", "--backprop-steps", "3", "--out",
                  str(tmp_path / "past-cli"), check=False)
    assert refused.returncode == 2 and "expected 0 (every step) or 1 to 2 (inner_steps)" in refused.stderr
    assert not (tmp_path / "past-cli").exists()


def test_a_mixture_of_families_trains_and_evaluates_each_family_through_the_python_api(tmp_path):
    # Issue Q: env as a list of families (and their weights), one meta-policy over
    # cartpole and pendulum; the report's per-family figures are the command line's.
    run = tmp_path / "run"
    metarl.train(out=run, **dict(TINY, env=["cartpole", "pendulum"], env_weights=[1, 3], meta_batch=4))
    assert "env: cartpole,pendulum\nenv_weights: [1, 3]\n" in (run / "config.yaml").read_text()
    report = metarl.evaluate(run, split="test", tasks=4, rollouts=2, steps=1)
    cli_report = json.loads(cli("eval", str(run), "--split", "test", "--tasks", "4", "--rollouts", "2", "--steps", "1",
                                "--json", "--no-save", "--quiet", "--blas-kernels", "openblas").stdout)
    assert list(report["families"]) == ["cartpole", "pendulum"]
    assert report["families"]["pendulum"]["tasks"] == [2, 3], "equal shares in evaluation"
    assert report["families"] == cli_report["families"]
    env = metarl.make_env("cartpole,pendulum", 4, 1)
    assert (env.observation_dim, env.action_dim) == (4 + 2, 1 + 1)
    with pytest.raises(ValueError, match="'cartpole' twice"):
        metarl.train(out=tmp_path / "twice", **dict(TINY, env=["cartpole", "cartpole"]))


def test_ctrl_c_stops_after_the_iteration_with_a_checkpoint(tmp_path):
    run = tmp_path / "run"
    sizes = dict(TINY, iterations=100000, checkpoint_every=100000)
    timer = threading.Timer(1.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt, match="checkpoint saved"):
        metarl.train(out=run, **sizes)
    timer.cancel()
    done = len((run / "metrics.csv").read_text().splitlines()) - 1
    assert done >= 1 and (run / "checkpoint.pt").exists()
    # The checkpoint covers every row written: a resume goes on from there.
    report = metarl.evaluate(run, tasks=2, rollouts=2, steps=1)
    assert report["methods"]["meta-sgd"]["checkpoint_iteration"] == done


def test_the_trainer_and_the_experiment_expose_theta_and_alpha(tmp_path):
    trainer = metarl.Trainer(**TINY)
    alpha_before = [a.clone() for a in trainer.alpha]
    metrics = trainer.run_iteration()
    assert metrics["iteration"] == 1 and trainer.iterations_done == 1
    assert all(isinstance(t, torch.Tensor) for t in trainer.theta)
    assert [a.shape for a in trainer.alpha] == [t.shape for t in trainer.theta], "Meta-SGD: alpha has theta's shape"
    assert any(not torch.equal(a, b) for a, b in zip(trainer.alpha, alpha_before)), "alpha is learned"
    checkpoint = tmp_path / "it1.pt"
    trainer.save_checkpoint(str(checkpoint))
    # The experiment: one adaptation step, and the meta-gradient reaches theta and alpha.
    exp = metarl.Experiment(**TINY)
    exp.load_checkpoint(str(checkpoint))
    assert all(torch.equal(a, b) for a, b in zip(exp.alpha, trainer.alpha))
    tasks = exp.sample_tasks("train")
    before = exp.sample(exp.theta, tasks)
    assert before["rewards"].shape == (2, 2, 10)
    adapted = exp.adapt(exp.theta, before, create_graph=True)
    assert adapted[0].shape[0] == 2, "one set of parameters per task"
    after = exp.sample(adapted, tasks)
    for p in exp.theta + exp.alpha:
        p.grad = None
    exp.meta_loss(adapted, after).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in exp.theta + exp.alpha)
    assert len(exp.parameter_names) == len(exp.theta)


def test_a_keyboard_interrupt_in_the_callback_stops_the_run_with_a_checkpoint(tmp_path):
    """Python runs a Ctrl-C's handler while Python code runs: in the callback too."""
    run = tmp_path / "run"

    def interrupt_at_two(metrics):
        if metrics["iteration"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt, match="checkpoint saved"):
        metarl.train(out=run, callback=interrupt_at_two, **dict(TINY, iterations=50, checkpoint_every=50))
    rows = len((run / "metrics.csv").read_text().splitlines()) - 1
    assert rows == 3, "the iteration after the interrupt is the last"
    assert metarl.evaluate(run, tasks=2, rollouts=2, steps=1)["methods"]["meta-sgd"]["checkpoint_iteration"] == 3


def test_misuse_is_an_error_not_a_crash(tmp_path):
    exp = metarl.Experiment(**TINY)
    tasks = exp.sample_tasks()
    with pytest.raises(ValueError, match=r"sample: 1 tensors, expected 5"):  # 1 hidden layer of 8: 2 linear layers + log_std
        exp.sample(exp.theta[:1], tasks)
    with pytest.raises(ValueError, match=r"tasks: expected an array of shape \[2, 2\]"):
        exp.sample(exp.theta, tasks[:1])
    before = exp.sample(exp.theta, tasks)
    with pytest.raises(ValueError, match="adapt: 2 tensors"):
        exp.adapt(exp.theta[:2], before)
    with pytest.raises(ValueError, match="trajectories"):
        exp.adapt(exp.theta, dict(before, rewards=before["rewards"][:1]))
    with pytest.raises(ValueError, match="unknown environment 'nope'"):
        metarl.effective_config(env="nope")
    with pytest.raises(ValueError, match="environment 'pendulum': parameter 'weight' is not a task parameter"):
        metarl.effective_config(env="pendulum", task_ranges=["weight=1"])


def test_task_ranges_are_a_list_of_strings_and_narrow_the_sampled_tasks():
    ranges = ["goal_x=0.25", "goal_y=-0.1..0.1/-0.3..0.3"]
    assert "task_ranges: [goal_x=0.25, goal_y=-0.1..0.1/-0.3..0.3]\n" in metarl.effective_config(
        env="point-nav", task_ranges=ranges)
    exp = metarl.Experiment(**dict(TINY, meta_batch=50, task_ranges=ranges))
    tasks = exp.sample_tasks()
    assert tasks.shape == (50, 2)
    assert np.all(tasks[:, 0] == 0.25)
    assert np.all(np.abs(tasks[:, 1]) <= 0.1)
    assert np.abs(tasks[:, 1]).max() > 0.05


def test_the_trainer_counts_environment_steps_and_time():
    trainer = metarl.Trainer(**TINY)
    first = trainer.run_iteration()
    second = trainer.run_iteration()
    # point-nav never ends early: 2 tasks x 2 rollouts x 10 steps x 2 stages per iteration.
    assert (first["env_steps"], second["env_steps"]) == (80, 160)
    assert second["wall_clock"] >= first["wall_clock"] > 0


def test_an_older_runs_environment_steps_are_unknown_after_resume(tmp_path):
    """A metrics.csv without env_steps (an older metarl's) does not restart the count at 0."""
    run = tmp_path / "run"
    metarl.train(out=run, **TINY)
    lines = (run / "metrics.csv").read_text().splitlines()
    old = ["iteration,return_before,return_after,meta_loss,alpha_mean,alpha_min,alpha_max,kl,backtracks,seconds"]
    for line in lines[1:]:
        cells = line.split(",")
        old.append(",".join(cells[:9] + [cells[-1]]))
    (run / "metrics.csv").write_text("\n".join(old) + "\n")
    seen = []
    metarl.train(out=run, resume=True, iterations=3, callback=seen.append)
    assert [m["iteration"] for m in seen] == [3]
    assert "env_steps" not in seen[0], "unknown, not counted from 0"
    assert seen[0]["wall_clock"] > 0
