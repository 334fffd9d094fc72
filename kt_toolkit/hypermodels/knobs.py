"""The builders' knobs and their PRACTICES priors. Imports no Keras.

Every entry names the practice its default comes from; `README.md` shows these
tables. The Keras objects behind the names live in the builder modules.
"""

from kt_toolkit.hypermodels.space import Knob

__all__ = ["ACTIVATIONS", "BUILDERS", "INITIALIZERS", "OPTIMIZERS", "builder_knobs"]

ACTIVATIONS = ("relu", "leaky_relu", "elu", "tanh", "selu", "gelu", "silu", "sigmoid",
               "softplus", "linear")
INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_normal", "he_uniform",
                "lecun_normal", "lecun_uniform", "random_uniform", "random_normal",
                "truncated_normal", "orthogonal", "zeros")
OPTIMIZERS = ("adam", "sgd", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "adamw")
REGULARIZERS = ("none", "l1", "l2", "l1_l2")

OPTIMIZER_KNOBS = (
    Knob("optimizer", "choice", "adam", "E4", "optimizer; Adam is the usual best choice",
         values=("adam", "sgd", "rmsprop", "adagrad", "adadelta"), allowed=OPTIMIZERS),
    Knob("learning_rate", "float", 1e-3, "E1, E2", "learning rate, log scale",
         min_value=1e-5, max_value=1.0, sampling="log", lower=(0.0, False),
         grid_step=10.0),
    Knob("momentum", "float", 0.9, "C2, E4", "SGD momentum (only with optimizer=sgd)",
         min_value=0.0, max_value=0.99, lower=(0.0, True), upper=(1.0, False),
         grid_step=0.3, parent=("optimizer", ("sgd",))),
)

MLP_KNOBS = (
    Knob("num_layers", "int", 1, "E6", "hidden Dense layers; start with 1, 2-3 usually best",
         min_value=1, max_value=3, lower=(0, True), upper=(64, True)),
    Knob("units", "choice", 128, "E7", "units of every hidden layer",
         values=(16, 32, 64, 128, 256, 512), allowed=tuple(2 ** i for i in range(13))
         + (10, 20, 50, 100, 200, 300, 500, 1000)),
    Knob("activation", "choice", "relu", "E14", "hidden activation",
         values=("relu", "leaky_relu", "elu", "tanh"), allowed=ACTIVATIONS),
    Knob("dropout", "float", 0.5, "E1, E10", "dropout after each hidden layer, linear scale",
         min_value=0.0, max_value=0.7, step=0.1, lower=(0.0, True), upper=(1.0, False)),
    Knob("regularizer", "choice", "l2", "E11", "weight penalty on Dense kernels",
         values=REGULARIZERS, allowed=REGULARIZERS),
    Knob("l1", "float", 1e-4, "E1, E11", "L1 strength, log scale (regularizer l1/l1_l2)",
         min_value=1e-6, max_value=10.0, sampling="log", lower=(0.0, True),
         grid_step=100.0, parent=("regularizer", ("l1", "l1_l2"))),
    Knob("l2", "float", 1e-4, "E1, E11", "L2 strength, log scale (regularizer l2/l1_l2)",
         min_value=1e-6, max_value=10.0, sampling="log", lower=(0.0, True),
         grid_step=100.0, parent=("regularizer", ("l2", "l1_l2"))),
    Knob("kernel_initializer", "choice", "glorot_uniform", "E13", "Dense kernel initializer",
         values=("glorot_uniform", "he_normal", "random_uniform", "random_normal", "zeros"),
         allowed=INITIALIZERS),
    Knob("batch_norm", "bool", False, "E16", "BatchNormalization after each Dense layer",
         values=(False, True)),
) + OPTIMIZER_KNOBS

BUILDERS = {
    "mlp": ("kt_toolkit.hypermodels.mlp", "HyperMLP", MLP_KNOBS),
}


def builder_knobs(builder):
    return BUILDERS[builder][2]
