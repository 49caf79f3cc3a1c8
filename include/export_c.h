/*
 * export_c: a model as C99 source, for a program that classifies without mlp (a
 * microcontroller, a plugin, a test rig). Three files into a directory, named by a prefix:
 *
 *   PREFIX.h        the interface, and the documentation: the network, the input layout and
 *                   scaling, the arithmetic, the memory it takes, the training record
 *                     #define PREFIX_INPUTS, _ROWS, _COLS, _CLASSES (the prefix in capitals)
 *                     int PREFIX_predict(const float in[INPUTS], float out[CLASSES]);
 *                     int PREFIX_predict_u8(const uint8_t in[INPUTS], float out[CLASSES]);
 *                   each returns the class and fills out with every class's output
 *   PREFIX.c        the parameters as static const arrays and the forward pass: no heap, no
 *                   state that changes, nothing but <math.h> (float) or nothing at all (int8)
 *   PREFIX_check.c  a program that prints the accuracy on an IDX test set, so that the
 *                   export can be checked where it is built
 *
 * Float (the default): the weights and biases are the model's own floats, written as hex
 * floating constants (C99 6.4.4.2), which the compiler must take exactly, where a decimal
 * would leave the last bit to its rounding. The forward pass does what mlp's reference
 * kernels do in the same order (each sum starts at the bias and adds the inputs in order;
 * expf, tanhf; softmax after subtracting the largest output), so the outputs are mlp's to
 * within rounding, and _u8 scales a pixel p to p / 255.0f as mlp reads an IDX image.
 *
 * int8: each neuron's weights w (a row of W_l) become q = round(w / s), |q| <= 127, with s =
 * max|w| / 127 a float per row; biases stay float. A layer's inputs are 8-bit too: the pixels
 * themselves (scale 1/255), then each hidden layer's outputs quantised when the call runs,
 * x = round(a / s) with s = max(a) / 255 over the layer (uint8: sigmoid and relu outputs) or
 * max|a| / 127 (int8: tanh). A neuron sums q * x exactly in int32 and scales once,
 * z = s_w * s_x * sum + b, in float. Activations use an exponential of the generated code's own
 * (a polynomial, as Cephes' expf), so the source includes nothing beyond <stddef.h> and
 * <stdint.h>.
 */
#ifndef MLP_EXPORT_C_H
#define MLP_EXPORT_C_H

#include "model.h"
#include "net.h"
#include "output.h"

#include <stdbool.h>

#define MLP_EXPORT_C_NAME "mlp_model" /* the default prefix */
/* C99 promises 31 significant characters of an external name (5.2.4.1); the longest one the
 * export makes is PREFIX_predict_u8, 11 more than the prefix. */
#define MLP_EXPORT_C_MAX_NAME 20
/* int8 sums of in products of |q| <= 127 and x <= 255 stay within int32 up to this many
 * inputs per neuron. */
#define MLP_EXPORT_C_MAX_INT8_INPUTS (2147483647 / (127 * 255))

typedef struct {
    const char *name; /* the prefix: a C identifier, see mlp_export_c_check_name() */
    bool int8;
} mlp_export_c_opts;

/* MLP_OK if name can prefix the files and identifiers: a letter, then letters, digits and
 * '_', at most MLP_EXPORT_C_MAX_NAME characters, not a C keyword (C99 to C23); otherwise
 * MLP_EARG with a message that quotes it and says why. */
mlp_status mlp_export_c_check_name(const char *name, mlp_error *err);

/* Checks o against net (the name; for int8, no layer with more inputs than
 * MLP_EXPORT_C_MAX_INT8_INPUTS), creates dir if it does not exist (not its parents) and names
 * in p the three files mlp_export_c() will write there. */
mlp_status mlp_export_c_plan(mlp_output_plan *p, const char *dir, const mlp_export_c_opts *o,
                             const mlp_net *net, mlp_error *err);

/* Writes the three files into dir, replacing files of those names: all three are written to
 * temporaries first and renamed into place only when every one is complete (output.h). */
mlp_status mlp_export_c(const char *dir, const mlp_export_c_opts *o, const mlp_net *net,
                        const mlp_model_meta *meta, mlp_error *err);

/* Bytes of const data the parameters take in PREFIX.c: 4 per parameter for float; for int8,
 * 1 per weight and 8 per neuron (its scale and bias). */
size_t mlp_export_c_param_bytes(const mlp_net *net, bool int8);

#endif
