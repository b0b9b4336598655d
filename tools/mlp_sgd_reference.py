"""Reference run for tests/autograd/test_mlp.cpp: a 2-layer tanh MLP trained with plain SGD on a
synthetic regression problem whose data and initial weights are closed-form formulas (no RNG), so
the C++ test builds exactly the same problem. Prints the losses the test checks."""
import math

import torch

torch.set_default_dtype(torch.float32)
N, D, H = 64, 4, 16
LR, STEPS = 0.1, 300

x = torch.tensor([[math.sin(0.37 * (i + 1) * (j + 1) + 0.1 * j) for j in range(D)] for i in range(N)])
y = (torch.sin(x[:, 0]) * torch.cos(x[:, 1]) + 0.5 * x[:, 2] * x[:, 3]).unsqueeze(1)  # (N, 1)
w1 = torch.tensor([[0.5 * math.sin(1.3 * h + 0.7 * j + 0.2) for j in range(D)] for h in range(H)], requires_grad=True)
b1 = torch.tensor([0.1 * math.cos(h) for h in range(H)], requires_grad=True)
w2 = torch.tensor([[0.3 * math.cos(0.9 * h + 0.4) for h in range(H)]], requires_grad=True)
b2 = torch.zeros(1, requires_grad=True)

losses = []
for step in range(STEPS + 1):
    out = torch.nn.functional.linear(torch.tanh(torch.nn.functional.linear(x, w1, b1)), w2, b2)
    loss = ((out - y) ** 2).mean()
    losses.append(loss.item())
    if step == STEPS:
        break
    for p in (w1, b1, w2, b2):
        p.grad = None
    loss.backward()
    with torch.no_grad():
        for p in (w1, b1, w2, b2):
            p -= LR * p.grad

print(f"torch {torch.__version__}")
for step in (0, 1, 10, 100, 300):
    print(f"step {step:3d}: loss {losses[step]:.8f}")
