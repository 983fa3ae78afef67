"""Weight-space operations for merging models, shared by the merging notebooks.

One place for everything that combines the parameters of several :class:`repro.models.MLP`
models (state dicts of ``nn.Sequential`` Linear/ReLU stacks):

* :mod:`.params` — state-dict arithmetic: task vectors, averaging, task arithmetic, linear
  interpolation, loss barriers, rebuilding an MLP from a (merged) state dict;
* :mod:`.fisher` — per-example diagonal Fisher, Fisher averaging (Matena & Raffel 2022), the
  uncertainty-based gradient-matching merge (Daheim et al., ICLR 2024) and backward-compatible
  weight interpolation (Schumann et al., EACL 2024);
* :mod:`.interference` — TIES (Yadav et al., NeurIPS 2023) and PCB (Du et al., NeurIPS 2024);
* :mod:`.permutation` — hidden-unit permutations: applying one, weight matching and activation
  matching (Ainsworth et al., ICLR 2023; Ito et al. 2024);
* :mod:`.pleas` — PLeaS partial matching and layer-wise least squares (Nasery et al., CVPR 2025);
* :mod:`.partial_average` — PLeaS's permute-and-average baseline at a merged width above one
  model's;
* :mod:`.spectral` — singular-vector alignment and distances between models (Ito et al. 2025);
* :mod:`.compatibility` — negative flips and the old model's Fisher for backward-compatible
  weight interpolation (Schumann et al., EACL 2024);
* :mod:`.views` — digits split into transformed domains, and label subsets.

Each module's docstring states the equations it implements.
"""

from repro.methods.merging.fisher import bcwi, diagonal_fisher, fisher_average, uncertainty_merge
from repro.methods.merging.interference import (
    pcb_merge,
    pcb_vector,
    pcb_weights,
    stacked_task_vectors,
    ties_merge,
    ties_vector,
)
from repro.methods.merging.params import (
    StateDict,
    add_scaled,
    average,
    flatten,
    interpolate,
    linear_layer_names,
    loss_barrier,
    mlp_from_state,
    mlp_widths,
    state_of,
    task_arithmetic,
    task_vector,
    unflatten,
)
from repro.methods.merging.partial_average import partial_permuted_average
from repro.methods.merging.permutation import (
    Matching,
    activation_matching,
    hidden_activations,
    identity_matching,
    identity_perms,
    layer_io,
    permute_mlp,
    unit_similarity,
    weight_matching,
)
from repro.methods.merging.pleas import (
    Blocks,
    budget_blocks,
    layer_least_squares,
    partial_blocks,
    permuted_average,
    pleas_merge,
)
from repro.methods.merging.views import (
    TRANSFORMS,
    Domain,
    digits_domains,
    digits_pools,
    label_subset,
    make_transform,
)

__all__ = [
    "TRANSFORMS",
    "Blocks",
    "Domain",
    "Matching",
    "StateDict",
    "activation_matching",
    "add_scaled",
    "average",
    "bcwi",
    "budget_blocks",
    "diagonal_fisher",
    "digits_domains",
    "digits_pools",
    "fisher_average",
    "flatten",
    "hidden_activations",
    "identity_matching",
    "identity_perms",
    "interpolate",
    "label_subset",
    "layer_io",
    "layer_least_squares",
    "linear_layer_names",
    "loss_barrier",
    "make_transform",
    "mlp_from_state",
    "mlp_widths",
    "partial_blocks",
    "partial_permuted_average",
    "pcb_merge",
    "pcb_vector",
    "pcb_weights",
    "permute_mlp",
    "permuted_average",
    "pleas_merge",
    "stacked_task_vectors",
    "state_of",
    "task_arithmetic",
    "task_vector",
    "ties_merge",
    "ties_vector",
    "uncertainty_merge",
    "unflatten",
    "unit_similarity",
    "weight_matching",
]
