"""The core: facts and plumbing that every other part stands on.

Keypoint metadata as data (`skeleton`), box and crop geometry (`geometry`, `transforms`), the
heatmap codec that training targets and inference decoding share (`codec`, `refine`), the
`Poses` result type, the one OKS kernel and greedy NMS (`oks`), files, atomic writes and the
project's error types (`fileio`), inputs as frames (`frames`), the CPU's features
(`hardware`), drawing (`visualize`), and small helpers for what a command prints (`words`,
`suggest`, `interrupts`).

May import: the standard library, numpy, OpenCV, torch, and `simplepose.config`; nothing
else of simplepose (every other part imports this one).
"""
