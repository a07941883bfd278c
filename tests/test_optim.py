"""gradspec.optim: updates, parameter groups, state dicts and schedulers, against torch."""

import math
import warnings

import numpy as np
import pytest

import gradspec as rt
from gradspec import nn
from conftest import DEVICES


def to_np(t):
    return t.detach().cpu().numpy()


def _pair(seed=0):
    """The same small model in both frameworks (torch's initial weights copied into ours)."""
    torch = pytest.importorskip("torch")

    def build(lib):
        return lib.nn.Sequential(lib.nn.Linear(5, 8), lib.nn.Tanh(), lib.nn.Linear(8, 3))

    torch.manual_seed(seed)
    theirs = build(torch)
    ours = build(rt)
    ours.load_state_dict({k: rt.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    return torch, ours, theirs


def _batches(steps, seed=1):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((7, 5)).astype(np.float32), rng.standard_normal((7, 3)).astype(np.float32))
            for _ in range(steps)]


def _train(lib, model, optimizer, batches, scheduler=None, device="cpu"):
    for x, y in batches:
        optimizer.zero_grad()
        out = model(lib.tensor(x, device=device))
        loss = ((out - lib.tensor(y, device=device)) ** 2).mean()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()


CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1)),
    ("Adadelta", dict(maximize=True)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, betas=(0.8, 0.99), momentum_decay=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.01)),  # 10 steps: the rectified branch starts at step 6
    ("RAdam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)])
def test_ten_steps_match_torch(name, kwargs, device):
    torch, ours, theirs = _pair()
    ours.to(device)
    opt_a = getattr(rt.optim, name)(ours.parameters(), **kwargs)
    opt_b = getattr(torch.optim, name)(theirs.parameters(), **kwargs)
    batches = _batches(10)
    _train(rt, ours, opt_a, batches, device=device)
    _train(torch, theirs, opt_b, batches)
    for (key, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        np.testing.assert_allclose(to_np(a), b.numpy(), rtol=0, atol=1e-6, err_msg=key)
    # the optimizer state too: same keys, same values
    sa, sb = opt_a.state_dict(), opt_b.state_dict()
    assert sa["param_groups"] == sb["param_groups"]
    assert sorted(sa["state"]) == sorted(sb["state"])
    for index in sb["state"]:
        assert list(sa["state"][index]) == list(sb["state"][index])
        for key, value in sb["state"][index].items():
            np.testing.assert_allclose(to_np(sa["state"][index][key]), value.numpy(), rtol=2e-5, atol=1e-6,
                                       err_msg=key)


def test_repr_matches_torch():
    torch, ours, theirs = _pair()
    for name, kwargs in [("SGD", dict(lr=1e-2, momentum=0.9)), ("Adam", {}), ("AdamW", {}), ("RMSprop", {}),
                         ("Adagrad", {}), ("Adadelta", {}), ("NAdam", {}), ("RAdam", {}), ("LBFGS", {})]:
        assert repr(getattr(rt.optim, name)(ours.parameters(), **kwargs)) == \
               repr(getattr(torch.optim, name)(theirs.parameters(), **kwargs))


def test_repr_of_seed_002():
    opt = rt.optim.SGD(nn.Linear(2, 2).parameters(), lr=1e-2, momentum=0.9)
    assert repr(opt) == ("SGD (\nParameter Group 0\n    dampening: 0\n    differentiable: False\n    foreach: None\n"
                         "    fused: None\n    lr: 0.01\n    maximize: False\n    momentum: 0.9\n    nesterov: False\n"
                         "    weight_decay: 0\n)")


def test_param_groups_with_their_own_lr():
    torch, ours, theirs = _pair()
    opt_a = rt.optim.SGD([{"params": ours[0].parameters()}, {"params": ours[2].parameters(), "lr": 0.5}], lr=0.1,
                         momentum=0.9)
    opt_b = torch.optim.SGD([{"params": theirs[0].parameters()}, {"params": theirs[2].parameters(), "lr": 0.5}],
                            lr=0.1, momentum=0.9)
    batches = _batches(10)
    _train(rt, ours, opt_a, batches)
    _train(torch, theirs, opt_b, batches)
    for (key, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        np.testing.assert_allclose(to_np(a), b.numpy(), atol=1e-6, err_msg=key)
    assert [g["lr"] for g in opt_a.param_groups] == [0.1, 0.5]
    assert opt_a.state_dict()["param_groups"] == opt_b.state_dict()["param_groups"]


def test_add_param_group_and_errors():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    opt = rt.optim.Adam(a.parameters())
    opt.add_param_group({"params": b.parameters(), "lr": 0.5})
    assert len(opt.param_groups) == 2 and opt.param_groups[1]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a.weight]})
    with pytest.raises(ValueError, match="empty parameter list"):
        rt.optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        rt.optim.SGD(a.weight, lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        rt.optim.SGD([a.weight * 2], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        rt.optim.Adam(a.parameters(), lr=-1)
    with pytest.raises(ValueError, match="Nesterov momentum requires"):
        rt.optim.SGD(a.parameters(), lr=0.1, nesterov=True)
    with pytest.raises(TypeError, match="ordered collections"):
        opt.add_param_group({"params": {nn.Parameter(rt.ones(1))}})


def test_zero_grad_and_skipped_parameters():
    lin = nn.Linear(2, 1)
    opt = rt.optim.SGD(lin.parameters(), lr=0.1, momentum=0.9)
    lin(rt.ones(1, 2)).sum().backward()
    lin.bias.grad = None  # a parameter without a gradient is left alone, with no state
    before = lin.bias.tolist()
    opt.step()
    assert lin.bias.tolist() == before and lin.bias not in opt.state
    opt.zero_grad(set_to_none=False)
    assert lin.weight.grad.tolist() == [[0.0, 0.0]]
    opt.zero_grad()
    assert lin.weight.grad is None


def test_closure_and_frozen_parameters():
    lin = nn.Linear(2, 1)
    lin.bias.requires_grad_(False)
    opt = rt.optim.SGD(lin.parameters(), lr=0.1)

    def closure():
        opt.zero_grad()
        loss = lin(rt.ones(1, 2)).sum()
        loss.backward()
        return loss

    bias = lin.bias.tolist()
    loss = opt.step(closure)
    assert isinstance(loss, rt.Tensor) and lin.bias.tolist() == bias


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01)),
                                         ("RMSprop", dict(lr=0.01, centered=True)), ("Adagrad", dict(lr=0.1)),
                                         ("Adadelta", dict()), ("NAdam", dict(lr=0.01)), ("RAdam", dict(lr=0.01))])
def test_state_dict_resume_equals_uninterrupted(name, kwargs, tmp_path):
    batches = _batches(10)
    rt.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
    start = model.state_dict()
    start = {k: rt.tensor(v.numpy()) for k, v in start.items()}
    opt = getattr(rt.optim, name)(model.parameters(), **kwargs)
    _train(rt, model, opt, batches)
    final = {k: v.numpy().copy() for k, v in model.state_dict().items()}

    resumed = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
    resumed.load_state_dict(start)
    opt2 = getattr(rt.optim, name)(resumed.parameters(), **kwargs)
    _train(rt, resumed, opt2, batches[:4])
    rt.save({"model": resumed.state_dict(), "optim": opt2.state_dict()}, tmp_path / "ckpt")
    checkpoint = rt.load(tmp_path / "ckpt")
    again = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
    again.load_state_dict(checkpoint["model"])
    opt3 = getattr(rt.optim, name)(again.parameters(), **kwargs)
    opt3.load_state_dict(checkpoint["optim"])
    _train(rt, again, opt3, batches[4:])
    for key, value in again.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), final[key], err_msg=key)


def test_load_state_dict_checks_and_copies():
    lin = nn.Linear(2, 2)
    opt = rt.optim.SGD(lin.parameters(), lr=0.1, momentum=0.9)
    lin(rt.ones(1, 2)).sum().backward()
    opt.step()
    state = opt.state_dict()
    other = rt.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.5, momentum=0.9)
    other.load_state_dict(state)
    assert other.param_groups[0]["lr"] == 0.1
    buffer = next(iter(other.state.values()))["momentum_buffer"]
    assert buffer is not state["state"][0]["momentum_buffer"]  # the optimizer owns its copy
    with pytest.raises(ValueError, match="different number of parameter groups"):
        rt.optim.SGD([{"params": [nn.Parameter(rt.ones(1))]}, {"params": [nn.Parameter(rt.ones(1))]}],
                     lr=0.1).load_state_dict(state)
    with pytest.raises(ValueError, match="doesn't match the size"):
        rt.optim.SGD([nn.Parameter(rt.ones(1))], lr=0.1).load_state_dict(state)


def test_load_torch_optimizer_state_dict():
    torch, ours, theirs = _pair()
    opt_b = torch.optim.Adam(theirs.parameters(), lr=0.01)
    _train(torch, theirs, opt_b, _batches(3))
    state = opt_b.state_dict()
    converted = {"state": {i: {k: rt.tensor(v.numpy()) for k, v in s.items()} for i, s in state["state"].items()},
                 "param_groups": state["param_groups"]}
    opt_a = rt.optim.Adam(ours.parameters(), lr=0.01)
    opt_a.load_state_dict(converted)
    ours.load_state_dict({k: rt.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    batches = _batches(4, seed=9)
    _train(rt, ours, opt_a, batches)
    _train(torch, theirs, opt_b, batches)
    for (key, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        np.testing.assert_allclose(to_np(a), b.numpy(), atol=1e-6, err_msg=key)


# ---- schedulers ---------------------------------------------------------------------------------

SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("LinearLR", dict(start_factor=0.25, total_iters=6)),
    ("CosineAnnealingLR", dict(T_max=7)),
    ("CosineAnnealingLR", dict(T_max=5, eta_min=0.01)),
    ("LambdaLR", dict(lr_lambda=lambda epoch: 0.95 ** epoch)),
    ("MultiplicativeLR", dict(lr_lambda=lambda epoch: 0.9)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4)),
    ("CyclicLR", dict(base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=3, step_size_down=5, mode="triangular2")),
    ("CyclicLR", dict(base_lr=0.01, max_lr=[0.1, 0.2], step_size_up=3, mode="exp_range", gamma=0.9,
                      base_momentum=0.7, max_momentum=0.95)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=2, scale_fn=lambda x: 0.5 ** x,
                      scale_mode="iterations", cycle_momentum=False)),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=26)),
    ("OneCycleLR", dict(max_lr=[0.5, 1.0], epochs=2, steps_per_epoch=13, pct_start=0.4, anneal_strategy="linear",
                        div_factor=10.0, final_div_factor=100.0)),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=30, three_phase=True, base_momentum=0.8, max_momentum=0.9)),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=26, cycle_momentum=False)),
]


@pytest.mark.parametrize("name,kwargs", SCHEDULERS, ids=[n for n, _ in SCHEDULERS])
def test_scheduler_lrs_match_torch(name, kwargs):
    torch, ours, theirs = _pair()
    opt_a = rt.optim.SGD([{"params": ours[0].parameters()}, {"params": ours[2].parameters(), "lr": 0.3}], lr=0.1)
    opt_b = torch.optim.SGD([{"params": theirs[0].parameters()}, {"params": theirs[2].parameters(), "lr": 0.3}],
                            lr=0.1)
    sched_a = getattr(rt.optim.lr_scheduler, name)(opt_a, **kwargs)
    sched_b = getattr(torch.optim.lr_scheduler, name)(opt_b, **kwargs)

    def groups(opt):  # lrs, the momentum the cyclical schedules set, and what they add to each group
        return [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]

    seen_a, seen_b = [sched_a.get_last_lr()], [sched_b.get_last_lr()]
    for _ in range(25):
        opt_a.step(), opt_b.step()
        sched_a.step(), sched_b.step()
        seen_a.append(sched_a.get_last_lr())
        seen_b.append(sched_b.get_last_lr())
        assert groups(opt_a) == groups(opt_b)
    assert seen_a == seen_b  # exactly: same formulas, same floating-point operations
    assert set(sched_a.state_dict()) == set(sched_b.state_dict())


@pytest.mark.parametrize("mode,threshold_mode", [("min", "rel"), ("max", "abs")])
def test_reduce_lr_on_plateau_matches_torch(mode, threshold_mode):
    torch, ours, theirs = _pair()
    opt_a, opt_b = rt.optim.SGD(ours.parameters(), lr=1.0), torch.optim.SGD(theirs.parameters(), lr=1.0)
    kwargs = dict(mode=mode, factor=0.5, patience=2, threshold_mode=threshold_mode, cooldown=1, min_lr=0.05)
    sched_a = rt.optim.lr_scheduler.ReduceLROnPlateau(opt_a, **kwargs)
    sched_b = torch.optim.lr_scheduler.ReduceLROnPlateau(opt_b, **kwargs)
    metrics = [1.0, 0.9, 0.95, 0.96, 0.97, 0.97, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
    for m in metrics:
        sched_a.step(m)
        sched_b.step(m)
        assert sched_a.get_last_lr() == sched_b.get_last_lr()
        assert sched_a.num_bad_epochs == sched_b.num_bad_epochs
    assert sched_a.state_dict() == {k: v for k, v in sched_b.state_dict().items()}


def test_scheduler_state_dict_and_resume():
    lin = nn.Linear(1, 1)
    opt = rt.optim.SGD(lin.parameters(), lr=1.0)
    sched = rt.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    for _ in range(4):
        opt.step()
        sched.step()
    state = sched.state_dict()
    assert "optimizer" not in state and state["last_epoch"] == 4
    torch = pytest.importorskip("torch")
    t_opt = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=1.0)
    t_sched = torch.optim.lr_scheduler.CosineAnnealingLR(t_opt, T_max=10)
    assert set(state) == set(t_sched.state_dict())
    opt2 = rt.optim.SGD(nn.Linear(1, 1).parameters(), lr=1.0)
    opt2.load_state_dict(opt.state_dict())
    sched2 = rt.optim.lr_scheduler.CosineAnnealingLR(opt2, T_max=10)
    sched2.load_state_dict(state)
    for _ in range(3):
        opt.step(), opt2.step()
        sched.step(), sched2.step()
    assert sched.get_last_lr() == sched2.get_last_lr()


def test_lambda_scheduler_state_skips_functions():
    opt = rt.optim.SGD(nn.Linear(1, 1).parameters(), lr=1.0)
    sched = rt.optim.lr_scheduler.LambdaLR(opt, lambda e: 1 / (e + 1))
    assert sched.state_dict()["lr_lambdas"] == [None]


def test_scheduler_before_optimizer_warns():
    opt = rt.optim.SGD(nn.Linear(1, 1).parameters(), lr=1.0)
    sched = rt.optim.lr_scheduler.StepLR(opt, 2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    opt2 = rt.optim.SGD(nn.Linear(1, 1).parameters(), lr=1.0)
    sched2 = rt.optim.lr_scheduler.StepLR(opt2, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt2.step()
        sched2.step()


def test_step_hooks():
    lin = nn.Linear(1, 1)
    opt = rt.optim.SGD(lin.parameters(), lr=1.0)
    calls = []
    opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    handle = opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    opt.step()
    handle.remove()
    opt.step()
    assert calls == ["pre", "post", "pre"]


def test_optimizer_state_is_saved_with_runtime_save(tmp_path):
    lin = nn.Linear(3, 2)
    opt = rt.optim.Adam(lin.parameters(), lr=0.01)
    lin(rt.ones(1, 3)).sum().backward()
    opt.step()
    rt.save(opt.state_dict(), tmp_path / "opt")
    loaded = rt.load(tmp_path / "opt")
    assert loaded["param_groups"][0]["betas"] == (0.9, 0.999)
    assert math.isclose(loaded["state"][0]["step"].item(), 1.0)
    assert set(loaded["state"]) == {0, 1}


@pytest.mark.parametrize("scheduler,kwargs", [
    ("CyclicLR", dict(base_lr=0.001, max_lr=0.01, step_size_up=3)),
    ("OneCycleLR", dict(max_lr=0.01, total_steps=12, three_phase=True)),
])
def test_cyclical_schedules_cycle_adams_beta1_and_resume(scheduler, kwargs):
    """With Adam the schedules cycle betas[0]; stopping mid-way and resuming from the optimizer's
    and the scheduler's state_dicts gives torch's numbers for the same resumed run."""
    torch, ours, theirs = _pair()
    batches = _batches(10)
    finals = []
    for lib, model in ((rt, ours), (torch, theirs)):
        opt = lib.optim.Adam(model.parameters(), lr=0.01)
        sched = getattr(lib.optim.lr_scheduler, scheduler)(opt, **kwargs)
        _train(lib, model, opt, batches[:5], sched)
        resumed = lib.optim.Adam(model.parameters(), lr=0.01)
        resumed.load_state_dict(opt.state_dict())
        resumed_sched = getattr(lib.optim.lr_scheduler, scheduler)(resumed, **kwargs)
        resumed_sched.load_state_dict(sched.state_dict())
        _train(lib, model, resumed, batches[5:], resumed_sched)
        finals.append((resumed.param_groups[0]["betas"], resumed_sched.get_last_lr()))
    assert finals[0] == finals[1]
    for (key, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        np.testing.assert_allclose(to_np(a), b.numpy(), atol=1e-6, err_msg=key)


def test_cyclical_schedules_refuse_what_torch_refuses():
    opt = rt.optim.Adagrad(nn.Linear(1, 1).parameters())
    with pytest.raises(ValueError, match="must support momentum or beta1"):
        rt.optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1)
    opt = rt.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="mode is invalid"):
        rt.optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, mode="sawtooth")
    with pytest.raises(ValueError, match="either total_steps OR"):
        rt.optim.lr_scheduler.OneCycleLR(opt, 0.1)
    sched = rt.optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=2)
    for _ in range(2):
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 3 times"):
        sched.step()


# ---- LBFGS --------------------------------------------------------------------------------------

def _lbfgs_run(lib, model, optimizer, x, y, steps, device="cpu"):
    losses = []

    def closure():
        optimizer.zero_grad()
        loss = ((model(lib.tensor(x, device=device)) - lib.tensor(y, device=device)) ** 2).mean()
        loss.backward()
        return loss

    for _ in range(steps):
        losses.append(optimizer.step(closure).item())
    return losses


@pytest.mark.parametrize("kwargs", [dict(max_iter=6), dict(lr=0.5, max_iter=5, history_size=3),
                                    dict(line_search_fn="strong_wolfe", max_iter=6),
                                    dict(line_search_fn="strong_wolfe", max_iter=4, history_size=2)])
@pytest.mark.parametrize("device", DEVICES)
def test_lbfgs_matches_torch(kwargs, device):
    """Three steps on a regression the model cannot fit exactly (so that the losses stay far from
    float32's rounding, which would otherwise decide the last iterations)."""
    torch, ours, theirs = _pair()
    ours.to(device)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    y = rng.standard_normal((64, 3)).astype(np.float32)
    opt_a, opt_b = rt.optim.LBFGS(ours.parameters(), **kwargs), torch.optim.LBFGS(theirs.parameters(), **kwargs)
    losses_a = _lbfgs_run(rt, ours, opt_a, x, y, 3, device)
    losses_b = _lbfgs_run(torch, theirs, opt_b, x, y, 3)
    np.testing.assert_allclose(losses_a, losses_b, rtol=1e-4)
    assert losses_a[-1] < losses_a[0]
    for (key, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        np.testing.assert_allclose(to_np(a), b.numpy(), rtol=1e-3, atol=1e-4, err_msg=key)
    state_a, state_b = opt_a.state_dict()["state"][0], opt_b.state_dict()["state"][0]
    assert set(state_a) == set(state_b)
    assert state_a["func_evals"] == state_b["func_evals"] and state_a["n_iter"] == state_b["n_iter"]
    assert len(state_a["old_dirs"]) == len(state_b["old_dirs"])


def test_lbfgs_state_dict_round_trip_continues_the_same_run(tmp_path):
    torch = pytest.importorskip("torch")
    (x, y), = _batches(1)
    rt.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
    start = {k: v.clone() for k, v in model.state_dict().items()}
    opt = rt.optim.LBFGS(model.parameters(), max_iter=4, line_search_fn="strong_wolfe")
    uninterrupted = _lbfgs_run(rt, model, opt, x, y, 4)
    model.load_state_dict(start)
    opt = rt.optim.LBFGS(model.parameters(), max_iter=4, line_search_fn="strong_wolfe")
    first = _lbfgs_run(rt, model, opt, x, y, 2)
    rt.save({"model": model.state_dict(), "optim": opt.state_dict()}, tmp_path / "ckpt")
    checkpoint = rt.load(tmp_path / "ckpt")
    model.load_state_dict(checkpoint["model"])
    opt = rt.optim.LBFGS(model.parameters(), max_iter=4, line_search_fn="strong_wolfe")
    opt.load_state_dict(checkpoint["optim"])
    assert first + _lbfgs_run(rt, model, opt, x, y, 2) == uninterrupted
    with pytest.raises(ValueError, match="per-parameter options"):
        rt.optim.LBFGS([{"params": [model[0].weight]}, {"params": [model[0].bias]}])
    with pytest.raises(RuntimeError, match="only 'strong_wolfe'"):
        _lbfgs_run(rt, model, rt.optim.LBFGS(model.parameters(), line_search_fn="armijo"), x, y, 1)
