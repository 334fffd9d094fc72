"""The builders' knobs and their PRACTICES priors. Imports no Keras.

Every entry names the practice its default comes from; `README.md` shows these
tables. The Keras objects behind the names live in the builder modules.
"""

from kt_toolkit.config.space import Knob

__all__ = ["ACTIVATIONS", "BUILDERS", "INITIALIZERS", "OPTIMIZERS", "SCHEDULE_NAMES",
           "builder_knobs", "is_custom_builder", "optimizer_knobs"]

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


def optimizer_knobs(*, clipnorm: float = 0.0,
                    clip_values: tuple[float, ...] | None = None) -> tuple[Knob, ...]:
    """The optimizer, learning-rate, schedule and batch knobs every builder shares.

    Args:
        clipnorm: Float, the first global-norm clip (0 = off).
        clip_values: Optional tuple: the clips the default space searches; `None`
            keeps `clipnorm` fixed until the YAML opens it (to 0, 5, 10, 15).
    """
    return (
        Knob("optimizer", "choice", "adam", "E4", "optimizer; Adam is the usual best choice "
             "(sgd, which wants 1e-2 and more, adagrad, adadelta: one line away)",
             values=("adam", "adamw", "nadam", "rmsprop"), allowed=OPTIMIZERS),
        Knob("learning_rate", "float", 1e-3, "E1, E2", "learning rate, log scale (the wide "
             "1e-5..1 of E2 is one line away)",
             min_value=3e-4, max_value=3e-2, sampling="log", lower=(0.0, False),
             grid_step=10.0),
        Knob("momentum", "float", 0.9, "C2, E4", "SGD momentum",
             min_value=0.0, max_value=0.99, lower=(0.0, True), upper=(1.0, False),
             grid_step=0.3, parent=("optimizer", ("sgd",))),
        Knob("nesterov", "bool", False, "E4", "Nesterov momentum for SGD",
             values=(False, True), parent=("optimizer", ("sgd",))),
        Knob("beta_1", "float", 0.9, "C2, E5", "Adam-family β1; tuned last (C2)",
             min_value=0.8, max_value=0.99, lower=(0.0, True), upper=(1.0, False),
             grid_step=0.05, parent=("optimizer", ADAM_FAMILY), tuned=False),
        Knob("beta_2", "float", 0.999, "C2, E5", "Adam-family β2",
             min_value=0.9, max_value=0.9999, sampling="reverse_log", lower=(0.0, True),
             upper=(1.0, False), grid_step=10.0, parent=("optimizer", ADAM_FAMILY),
             tuned=False),
        Knob("epsilon", "float", 1e-8, "C2, E5", "Adam-family ε, log scale; it can matter a lot (E5)",
             min_value=1e-10, max_value=1.0, sampling="log", lower=(0.0, False),
             grid_step=100.0, parent=("optimizer", ADAM_FAMILY), tuned=False),
        Knob("weight_decay", "float", 1e-4, "E11", "AdamW decoupled weight decay, log scale",
             min_value=1e-6, max_value=1e-1, sampling="log", lower=(0.0, True),
             grid_step=10.0, parent=("optimizer", ("adamw",))),
        Knob("clipnorm", "float", clipnorm, "E9", "gradient clipping by global norm (0 = off)",
             values=clip_values or (0.0, 5.0, 10.0, 15.0), lower=(0.0, True),
             tuned=clip_values is not None),
        Knob("lr_schedule", "choice", "constant", "E3", "learning-rate schedule (cosine, "
             "exponential, step: one line away)",
             values=("constant", "multistep", "noam"), allowed=SCHEDULE_NAMES),
        Knob("decay_rate", "float", 0.96, "E3", "exponential decay per epoch",
             min_value=0.9, max_value=0.99, step=0.01, lower=(0.0, False), upper=(1.0, False),
             parent=("lr_schedule", ("exponential",))),
        Knob("decay_factor", "float", 0.5, "E3", "step/multistep decay factor",
             values=(0.1, 0.3, 0.5), lower=(0.0, False), upper=(1.0, False),
             parent=("lr_schedule", ("step", "multistep"))),
        Knob("warmup_epochs", "int", 1, "E3", "Noam warm-up, in epochs",
             min_value=1, max_value=5, lower=(1, True), parent=("lr_schedule", ("noam",))),
        Knob("batch_size", "int", 64, "E8", "mini-batch size (training.batch_size "
             "unless given choices)", values=(16, 32, 64, 128, 256, 512), lower=(1, True),
             tuned=False),
        Knob("class_balance", "choice", "none", "E17", "natural ratio, class weights, "
             "oversampling the rare classes, or balanced mini-batches",
             values=CLASS_BALANCE, allowed=CLASS_BALANCE, tuned=False),
    )


def regularizer_knobs() -> tuple[Knob, ...]:
    return (
        Knob("regularizer", "choice", "l2", "E11", "weight penalty on kernels",
             values=REGULARIZERS, allowed=REGULARIZERS),
        Knob("l1", "float", 1e-4, "E1, E11", "L1 strength, log scale (Keras adds it "
             "to the loss per weight: 1 and above swamps it)",
             min_value=1e-6, max_value=1e-2, sampling="log", lower=(0.0, True),
             grid_step=100.0, parent=("regularizer", ("l1", "l1_l2"))),
        Knob("l2", "float", 1e-4, "E1, E11", "L2 strength, log scale (E1's 1.0 is a "
             "demonstration value on Keras's scale)",
             min_value=1e-6, max_value=1e-2, sampling="log", lower=(0.0, True),
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
         min_value=0.0, max_value=0.5, step=0.1, lower=(0.0, True), upper=(1.0, False)),
) + regularizer_knobs() + (
    Knob("kernel_initializer", "choice", "glorot_uniform", "E13", "Dense kernel initializer "
         "(zeros never trains; it is one line away)",
         values=("glorot_uniform", "he_normal", "random_uniform", "random_normal"),
         allowed=INITIALIZERS),
    Knob("batch_norm", "bool", False, "E16", "BatchNormalization after each Dense layer",
         values=(False, True)),
) + optimizer_knobs()

CNN_KNOBS = (
    Knob("num_blocks", "int", 2, "E6, E16", "convolution blocks (filters double each block)",
         min_value=1, max_value=3, lower=(1, True), upper=(8, True)),
    Knob("filters", "int", 32, "E7", "filters of the first block, a power of two",
         values=(16, 32, 64, 128), lower=(1, True)),
    Knob("kernel_size", "int", 3, "E16", "square kernel size; 3x3 first",
         values=(3, 5), lower=(1, True), upper=(11, True)),
    Knob("factorized", "bool", False, "E16", "a 1xN then Nx1 pair instead of one NxN",
         values=(False, True)),
    Knob("convs_per_block", "int", 1, "E16", "convolutions per block (two 3x3 see 5x5)",
         min_value=1, max_value=2, lower=(1, True), upper=(4, True)),
    Knob("batch_norm", "bool", True, "E16", "BatchNormalization after each convolution",
         values=(False, True)),
    Knob("residual", "bool", False, "E16", "residual shortcut around each block",
         values=(False, True)),
    Knob("pooling", "choice", "max", "E16", "down-sampling after each block",
         values=("max", "average", "none"), allowed=("max", "average", "none")),
    Knob("head", "choice", "global_average", "E16", "how the feature maps reach the head",
         values=("global_average", "flatten"), allowed=("global_average", "flatten")),
    Knob("dense_units", "int", 128, "E7", "units of the dense head layer (0 = none)",
         values=(0, 64, 128, 256), lower=(0, True)),
    Knob("dropout", "float", 0.5, "E1, E10", "dropout before the output layer",
         min_value=0.0, max_value=0.7, step=0.1, lower=(0.0, True), upper=(1.0, False)),
    Knob("activation", "choice", "relu", "E14", "activation of convolutions and head",
         values=("relu", "leaky_relu", "elu"), allowed=ACTIVATIONS),
    Knob("kernel_initializer", "choice", "glorot_uniform", "E13",
         "convolution and dense kernel initializer",
         values=("glorot_uniform", "he_normal", "random_normal"), allowed=INITIALIZERS),
) + regularizer_knobs() + (
    Knob("augment_flip", "choice", "none", "F3", "random flips while training",
         values=("none", "horizontal", "vertical", "horizontal_and_vertical"),
         allowed=("none", "horizontal", "vertical", "horizontal_and_vertical"), tuned=False),
    Knob("augment_translation", "float", 0.0, "F3", "random shifts, fraction of the size",
         min_value=0.0, max_value=0.2, step=0.05, lower=(0.0, True), upper=(0.5, True),
         tuned=False),
    Knob("augment_crop", "float", 0.0, "F3", "random crop of up to this fraction of the "
         "size, resized back (a zoom-in)", min_value=0.0, max_value=0.2, step=0.05,
         lower=(0.0, True), upper=(0.5, True), tuned=False),
) + optimizer_knobs()

SEQUENCE_KNOBS = (
    Knob("embedding_dim", "int", 128, "E12", "embedding size",
         values=(64, 128, 200, 256), lower=(1, True)),
    Knob("embedding_initializer", "choice", "random_uniform", "E13",
         "embedding initializer (uniform trained faster than Glorot)",
         values=("random_uniform", "glorot_uniform"), allowed=INITIALIZERS),
    Knob("cell", "choice", "gru", "E16", "recurrent cell; gated beat plain RNNs",
         values=("lstm", "gru", "simple_rnn"), allowed=("lstm", "gru", "simple_rnn")),
    Knob("num_layers", "int", 2, "E6", "recurrent layers (2-3 LSTM layers)",
         min_value=1, max_value=3, lower=(1, True), upper=(8, True)),
    Knob("bidirectional", "bool", False, "E16", "read the sequence both ways",
         values=(False, True)),
    Knob("units", "int", 64, "E7, E12", "units of each recurrent layer",
         values=(32, 64, 128, 256), lower=(1, True)),
    Knob("dropout", "float", 0.5, "E1, E10", "dropout after the embedding and before the output",
         min_value=0.0, max_value=0.7, step=0.1, lower=(0.0, True), upper=(1.0, False)),
    Knob("recurrent_dropout", "float", 0.0, "E10", "dropout on the recurrent state",
         min_value=0.0, max_value=0.5, step=0.1, lower=(0.0, True), upper=(1.0, False)),
    Knob("recurrent_initializer", "choice", "orthogonal", "E13",
         "recurrent kernel initializer (orthogonal for recurrent state)",
         values=("orthogonal", "glorot_uniform"), allowed=INITIALIZERS, tuned=False),
    Knob("layer_norm", "bool", False, "E16", "LayerNormalization after each recurrent layer",
         values=(False, True)),
) + optimizer_knobs(clipnorm=5.0, clip_values=(5.0, 10.0, 15.0))

BUILDERS = {
    "mlp": ("kt_toolkit.hypermodels.mlp", "HyperMLP", MLP_KNOBS),
    "cnn": ("kt_toolkit.hypermodels.cnn", "HyperCNN", CNN_KNOBS),
    "sequence": ("kt_toolkit.hypermodels.sequence", "HyperSequence", SEQUENCE_KNOBS),
}


def builder_knobs(builder: str) -> tuple[Knob, ...]:
    return BUILDERS[builder][2]


def is_custom_builder(builder: str) -> bool:
    """Whether `builder` names the user's own model (`"package.module:Name"`)."""
    return isinstance(builder, str) and ":" in builder
