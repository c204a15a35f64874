"""The two updates of a DARTS step: alphas on the validation loss, weights on the training loss.

First order uses ``grad_alpha L_val(w, alpha)``. Second order (``unrolled``) differentiates through one
virtual weight step ``w' = w - xi * (momentum * buffer + grad_w L_train(w, alpha) + weight_decay * w)``,
i.e. exactly the step the weight optimiser would take (with xi the current weight learning rate), and
approximates the Hessian-vector product by finite differences (Liu et al. 2019, eq. 7-8)::

    grad = grad_alpha L_val(w', alpha)
           - xi * (grad_alpha L_train(w+, alpha) - grad_alpha L_train(w-, alpha)) / (2 * eps)
    w+- = w +- eps * grad_w' L_val(w', alpha),   eps = 0.01 / ||grad_w' L_val(w', alpha)||

All forward passes of the architecture step run through ``torch.func.functional_call`` with copied
batch-norm buffers, so the step changes nothing but the alphas: no weight, no running statistic.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.func import functional_call

from katib.darts.search import ALPHA_PREFIX, SearchNetwork

Tensors = dict[str, torch.Tensor]


class Architect:
    """Computes architecture gradients for ``model`` and applies them with ``alpha_optimizer``."""

    def __init__(
        self,
        model: SearchNetwork,
        alpha_optimizer: torch.optim.Optimizer,
        *,
        w_momentum: float,
        w_weight_decay: float,
        unrolled: bool,
        fd_scale: float = 0.01,
    ) -> None:
        """``fd_scale`` is the 0.01 of ``eps = 0.01 / ||grad||`` (the paper's value)."""
        self.model = model
        self.fd_scale = fd_scale
        self.alpha_optimizer = alpha_optimizer
        self.w_momentum = w_momentum
        self.w_weight_decay = w_weight_decay
        self.unrolled = unrolled

    def step(
        self,
        train: tuple[torch.Tensor, torch.Tensor],
        valid: tuple[torch.Tensor, torch.Tensor],
        *,
        lr: float,
        w_optimizer: torch.optim.Optimizer,
    ) -> float:
        """One alpha update; returns the validation loss it was computed from."""
        grads, loss = self.gradient(train, valid, lr=lr, w_optimizer=w_optimizer)
        self.alpha_optimizer.zero_grad(set_to_none=True)
        for alpha, grad in zip(self.model.arch_parameters(), grads, strict=True):
            alpha.grad = grad
        self.alpha_optimizer.step()
        return loss

    def gradient(
        self,
        train: tuple[torch.Tensor, torch.Tensor],
        valid: tuple[torch.Tensor, torch.Tensor],
        *,
        lr: float,
        w_optimizer: torch.optim.Optimizer | None = None,
    ) -> tuple[list[torch.Tensor], float]:
        """The architecture gradient (one tensor per alpha) and the validation loss; changes nothing."""
        weights, alphas = self._split()
        if not self.unrolled:
            loss = self._loss({**weights, **alphas}, valid)
            return _grad(loss, list(alphas.values())), loss.item()
        virtual = self._virtual_step(weights, alphas, train, lr, w_optimizer)
        loss = self._loss({**virtual, **alphas}, valid)
        grads = _grad(loss, [*alphas.values(), *virtual.values()])
        d_alpha, d_weights = grads[: len(alphas)], grads[len(alphas) :]
        hessian = self._hessian_vector(weights, alphas, d_weights, train)
        return [da - lr * h for da, h in zip(d_alpha, hessian, strict=True)], loss.item()

    def _virtual_step(
        self,
        weights: Tensors,
        alphas: Tensors,
        train: tuple[torch.Tensor, torch.Tensor],
        lr: float,
        w_optimizer: torch.optim.Optimizer | None,
    ) -> Tensors:
        loss = self._loss({**weights, **alphas}, train)
        grads = _grad(loss, list(weights.values()))
        state = w_optimizer.state if w_optimizer is not None else {}
        virtual = {}
        with torch.no_grad():
            for (name, w), g in zip(weights.items(), grads, strict=True):
                buffer = state.get(w, {}).get("momentum_buffer")
                momentum = self.w_momentum * buffer if buffer is not None else 0.0
                virtual[name] = (w - lr * (momentum + g + self.w_weight_decay * w)).requires_grad_()
        return virtual

    def _hessian_vector(
        self,
        weights: Tensors,
        alphas: Tensors,
        vector: list[torch.Tensor],
        train: tuple[torch.Tensor, torch.Tensor],
    ) -> list[torch.Tensor]:
        """``d2 L_train / (d alpha d w) . vector`` by central finite differences."""
        norm = torch.cat([v.reshape(-1) for v in vector]).norm()
        if norm.item() == 0.0:
            return [torch.zeros_like(a) for a in alphas.values()]
        eps = self.fd_scale / norm
        with torch.no_grad():
            plus = {n: w + eps * v for (n, w), v in zip(weights.items(), vector, strict=True)}
            minus = {n: w - eps * v for (n, w), v in zip(weights.items(), vector, strict=True)}
        grad_plus = _grad(self._loss({**plus, **alphas}, train), list(alphas.values()))
        grad_minus = _grad(self._loss({**minus, **alphas}, train), list(alphas.values()))
        return [(p - m) / (2 * eps) for p, m in zip(grad_plus, grad_minus, strict=True)]

    def _split(self) -> tuple[Tensors, Tensors]:
        weights, alphas = {}, {}
        for name, p in self.model.named_parameters():
            (alphas if name.startswith(ALPHA_PREFIX) else weights)[name] = p
        return weights, alphas

    def _loss(self, tensors: Tensors, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        buffers = {name: b.clone() for name, b in self.model.named_buffers()}
        logits = functional_call(self.model, {**tensors, **buffers}, (batch[0],))
        return F.cross_entropy(logits, batch[1])


def weight_step(
    model: SearchNetwork,
    w_optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    grad_clip: float,
) -> tuple[float, torch.Tensor]:
    """One weight update on a training batch; the alphas get no gradient from it.

    ``grad_clip`` bounds the gradient norm; 0 turns clipping off. Returns the loss and the logits.
    """
    weights = model.weight_parameters()
    w_optimizer.zero_grad(set_to_none=True)
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    loss.backward(inputs=weights)
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(weights, grad_clip)
    w_optimizer.step()
    return loss.item(), logits.detach()


def _grad(loss: torch.Tensor, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    grads = torch.autograd.grad(loss, inputs, allow_unused=True)
    return [torch.zeros_like(x) if g is None else g.detach() for x, g in zip(inputs, grads, strict=True)]
