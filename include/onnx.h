/*
 * onnx: a model as an ONNX file (https://onnx.ai/onnx/repo-docs/IR.html, onnx.proto), which
 * onnxruntime, Netron and the other ONNX runtimes read. IR version 8, operator set 13 of the
 * default domain; one ModelProto, written with protobuf.h:
 *
 *   ir_version 8, producer_name "mlp", producer_version (the program's), doc_string
 *   opset_import  {domain "", version 13}
 *   graph "mlp":
 *     input  x  float32 [N, sizes[0]]: the pixels of an image, row by row, divided by 255;
 *               N is symbolic, any batch size
 *     per weight layer l = 0 .. L-1:
 *       Gemm(a_l, W<l>, b<l>; transB=1) -> z<l>     a_0 = x; z = a . W^T + b
 *       act(z<l>) -> a<l+1>, or y for the last layer
 *               act: Sigmoid, Tanh or Relu for hidden layers; for the last, Softmax
 *               (axis -1) with the cross-entropy cost, Sigmoid with the quadratic one
 *     output y  float32 [N, classes]
 *     initializers  W<l> float32 (sizes[l+1], sizes[l]), one row per neuron as mlp keeps
 *               them (hence transB); b<l> float32 (sizes[l+1]); both as little-endian
 *               raw_data
 *   metadata_props  the training description, as text:
 *     layers "784-16-16-10", activation, cost, input "28x28" (rows x cols), input_scaling
 *     "1/255", seed, test_accuracy ("0.9512" or "not measured"), command (the line that
 *     trained it, "not recorded" if none; bytes that are not UTF-8 become U+FFFD), and
 *     description: the JSON object `mlp info --json` prints, without the model's path.
 *
 * Protobuf cannot hold a message of 2 GB or more (ONNX then wants external data files,
 * which this writer does not make): such a model is refused before anything is written.
 */
#ifndef MLP_ONNX_H
#define MLP_ONNX_H

#include "model.h"
#include "net.h"
#include "output.h"

#include <stdint.h>

#define MLP_ONNX_IR_VERSION 8
#define MLP_ONNX_OPSET      13
#define MLP_ONNX_MAX_BYTES  INT32_MAX /* protobuf's limit on a serialised message */

/* Bytes of the file mlp_onnx_write() would write, version being the producer_version.
 * MLP_EARG if that is over MLP_ONNX_MAX_BYTES (with *bytes set), MLP_ENOMEM if memory for
 * the description runs out. Reads the network's layout, never its parameters. */
mlp_status mlp_onnx_bytes(const mlp_net *net, const mlp_model_meta *meta, const char *version,
                          uint64_t *bytes, mlp_error *err);

/* Names path in p as a target ("ONNX file"), so that the caller can check it against its
 * inputs and other targets before writing any; refuses a model too large for the format
 * and a file system without room for it. */
mlp_status mlp_onnx_plan(mlp_output_plan *p, const char *path, const mlp_net *net,
                         const mlp_model_meta *meta, const char *version, mlp_error *err);

/* Writes the file above at path, atomically (output.h). */
mlp_status mlp_onnx_write(const char *path, const mlp_net *net, const mlp_model_meta *meta,
                          const char *version, mlp_error *err);

#endif
