"""The builders' knobs and their PRACTICES priors. Imports no Keras.

Every entry names the practice its default comes from; `README.md` shows these
tables. The Keras objects behind the names live in the builder modules.
"""

from kt_toolkit.hypermodels.space import Knob

__all__ = ["ACTIVATIONS", "BUILDERS", "INITIALIZERS", "OPTIMIZERS", "SCHEDULE_NAMES",
           "builder_knobs", "optimizer_knobs"]

ACTIVATIONS = ("relu", "leaky_relu", "elu", "tanh", "selu", "gelu", "silu", "sigmoid",
               "softplus", "linear")
INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_normal", "he_uniform",
                "lecun_normal", "lecun_uniform", "random_uniform", "random_normal",
                "truncated_normal", "orthogonal", "zeros")
OPTIMIZERS = ("adam", "adamw", "nadam", "sgd", "rmsprop", "adagrad", "adadelta", "adamax")
ADAM_FAMILY = ("adam", "adamw", "nadam", "adamax")
REGULARIZERS = ("none", "l1", "l2", "l1_l2")
SCHEDULE_NAMES = ("constant", "exponential", "step", "multistep", "cosine", "noam")
CLASS_BALANCE = ("none", "class_weight", "oversample", "balanced_batches")


def optimizer_knobs(*, clipnorm=0.0, tune_clipnorm=False):
    """The optimizer, learning-rate, schedule and batch knobs every builder shares.

    Args:
        clipnorm: Float, the default global-norm clip (0 = off).
        tune_clipnorm: Boolean, whether the default space searches the clip.
    """
    return (
        Knob("optimizer", "choice", "adam", "E4", "optimizer; Adam is the usual best choice",
             values=("adam", "adamw", "nadam", "sgd", "rmsprop", "adagrad", "adadelta"),
             allowed=OPTIMIZERS),
        Knob("learning_rate", "float", 1e-3, "E1, E2", "learning rate, log scale",
             min_value=1e-5, max_value=1.0, sampling="log", lower=(0.0, False),
             grid_step=10.0),
        Knob("momentum", "float", 0.9, "C2, E4", "SGD momentum",
             min_value=0.0, max_value=0.99, lower=(0.0, True), upper=(1.0, False),
             grid_step=0.3, parent=("optimizer", ("sgd",))),
        Knob("nesterov", "bool", False, "E4", "Nesterov momentum for SGD",
             values=(False, True), parent=("optimizer", ("sgd",))),
        Knob("beta_1", "float", 0.9, "C2, E5", "Adam-family β1 (tuned last: fixed until given a range)",
             min_value=0.8, max_value=0.99, lower=(0.0, True), upper=(1.0, False),
             grid_step=0.05, parent=("optimizer", ADAM_FAMILY), tuned=False),
        Knob("beta_2", "float", 0.999, "C2, E5", "Adam-family β2 (fixed until given a range)",
             min_value=0.9, max_value=0.9999, sampling="reverse_log", lower=(0.0, True),
             upper=(1.0, False), grid_step=10.0, parent=("optimizer", ADAM_FAMILY),
             tuned=False),
        Knob("epsilon", "float", 1e-8, "C2, E5", "Adam-family ε, log scale (fixed until given a range)",
             min_value=1e-10, max_value=1.0, sampling="log", lower=(0.0, False),
             grid_step=100.0, parent=("optimizer", ADAM_FAMILY), tuned=False),
        Knob("weight_decay", "float", 1e-4, "E11", "AdamW decoupled weight decay, log scale",
             min_value=1e-6, max_value=1e-1, sampling="log", lower=(0.0, True),
             grid_step=10.0, parent=("optimizer", ("adamw",))),
        Knob("clipnorm", "float", clipnorm, "E9", "gradient clipping by global norm (0 = off)",
             values=(0.0, 5.0, 10.0, 15.0), lower=(0.0, True), tuned=tune_clipnorm),
        Knob("lr_schedule", "choice", "constant", "E3", "learning-rate schedule",
             values=SCHEDULE_NAMES, allowed=SCHEDULE_NAMES),
        Knob("decay_rate", "float", 0.96, "E3", "exponential decay per epoch",
             min_value=0.9, max_value=0.99, step=0.01, lower=(0.0, False), upper=(1.0, False),
             parent=("lr_schedule", ("exponential",))),
        Knob("decay_factor", "float", 0.5, "E3", "step/multistep decay factor",
             values=(0.1, 0.3, 0.5), lower=(0.0, False), upper=(1.0, False),
             parent=("lr_schedule", ("step", "multistep"))),
        Knob("warmup_epochs", "int", 1, "E3", "Noam warm-up, in epochs",
             min_value=1, max_value=5, lower=(1, True), parent=("lr_schedule", ("noam",))),
        Knob("batch_size", "int", 64, "E8", "mini-batch size (fixed to training.batch_size "
             "until given choices)", values=(16, 32, 64, 128, 256, 512), lower=(1, True),
             tuned=False),
        Knob("class_balance", "choice", "none", "E17", "natural ratio, class weights, "
             "oversampling the rare classes, or balanced mini-batches",
             values=CLASS_BALANCE, allowed=CLASS_BALANCE, tuned=False),
    )


def regularizer_knobs():
    return (
        Knob("regularizer", "choice", "l2", "E11", "weight penalty on kernels",
             values=REGULARIZERS, allowed=REGULARIZERS),
        Knob("l1", "float", 1e-4, "E1, E11", "L1 strength, log scale",
             min_value=1e-6, max_value=10.0, sampling="log", lower=(0.0, True),
             grid_step=100.0, parent=("regularizer", ("l1", "l1_l2"))),
        Knob("l2", "float", 1e-4, "E1, E11", "L2 strength, log scale",
             min_value=1e-6, max_value=10.0, sampling="log", lower=(0.0, True),
             grid_step=100.0, parent=("regularizer", ("l2", "l1_l2"))),
    )


MLP_KNOBS = (
    Knob("num_layers", "int", 1, "E6", "hidden Dense layers; start with 1, 2-3 usually best",
         min_value=1, max_value=3, lower=(0, True), upper=(64, True)),
    Knob("units", "int", 128, "E7", "units of every hidden layer",
         values=(16, 32, 64, 128, 256, 512), lower=(1, True), upper=(65536, True)),
    Knob("activation", "choice", "relu", "E14", "hidden activation",
         values=("relu", "leaky_relu", "elu", "tanh"), allowed=ACTIVATIONS),
    Knob("dropout", "float", 0.5, "E1, E10", "dropout after each hidden layer, linear scale",
         min_value=0.0, max_value=0.7, step=0.1, lower=(0.0, True), upper=(1.0, False)),
) + regularizer_knobs() + (
    Knob("kernel_initializer", "choice", "glorot_uniform", "E13", "Dense kernel initializer",
         values=("glorot_uniform", "he_normal", "random_uniform", "random_normal", "zeros"),
         allowed=INITIALIZERS),
    Knob("batch_norm", "bool", False, "E16", "BatchNormalization after each Dense layer",
         values=(False, True)),
) + optimizer_knobs()

BUILDERS = {
    "mlp": ("kt_toolkit.hypermodels.mlp", "HyperMLP", MLP_KNOBS),
}


def builder_knobs(builder):
    return BUILDERS[builder][2]
