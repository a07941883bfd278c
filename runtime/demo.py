"""A short autograd tour from the tutorials' notes: `python -m gradspec.demo`.

Each step prints what torch prints for the same code (`import gradspec as torch`).
"""

import gradspec as torch


def main() -> None:
    print("# A leaf that requires grad, and the graph recorded from it")
    t1 = torch.tensor([0.7659, -2.0262, -1.4139, 1.1822, -1.1543], requires_grad=True)
    t2 = t1 + 2
    t3 = 2 * t2 ** 2
    t4 = t3.mean()
    print(t2, t3, t4, sep="\n")
    t4.backward()
    print("t1.grad =", t1.grad)

    print("\n# Gradients accumulate; update under no_grad, then zero them")
    weights = torch.ones(4, requires_grad=True)
    for _ in range(2):
        model_output = (weights * 3).sum()
        model_output.backward()
        print(weights.grad)
        with torch.no_grad():
            weights -= 0.1 * weights.grad
        weights.grad.zero_()
    print(weights)

    print("\n# Vector-Jacobian products and retain_graph")
    inp = torch.eye(5, requires_grad=True)
    out = (inp + 1).pow(2)
    out.backward(torch.ones_like(inp), retain_graph=True)
    out.backward(torch.ones_like(inp), retain_graph=True)
    print("after two calls\n", inp.grad)

    print("\n# A second derivative: d2/dx2 of x**3 at x = 2 is 12")
    x = torch.tensor(2.0, requires_grad=True)
    (first,) = torch.autograd.grad(x ** 3, x, create_graph=True)
    (second,) = torch.autograd.grad(first, x)
    print(first, second)

    print("\n# One layer and a logistic loss, as in the autograd tutorial")
    torch.manual_seed(0)
    x, y = torch.ones(5), torch.zeros(3)
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    print("Gradient function for z =", z.grad_fn)
    print("Gradient function for loss =", loss.grad_fn)
    loss.backward()
    print(w.grad, b.grad, sep="\n")


if __name__ == "__main__":
    main()
