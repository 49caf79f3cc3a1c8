/*
 * model: reads and writes model.bin. Knows the file format and nothing else.
 *
 * Format (version 4). Every integer is little-endian, every float IEEE-754 binary32
 * little-endian, whatever the host:
 *
 *   offset  size   field
 *   0       4      magic "MLPM"
 *   4       4      u32 format version (4; versions 1 to 3 are still read, see below)
 *   8       4      u32 bytes per float (4)
 *   12      4      f32 1.0 (0x3f800000): a foreign float format fails here
 *   16      4      u32 L, weight layers (1 .. MLP_MAX_LAYERS)
 *   20      4(L+1) u32 layer sizes, inputs first, classes last
 *   ..      4      u32 hidden activation: 0 sigmoid, 1 tanh, 2 relu
 *   ..      4      u32 cost: 0 quadratic (sigmoid outputs), 1 cross-entropy (softmax outputs)
 *   ..      8      u32 rows, u32 cols of the input images (rows * cols = inputs)
 *   ..      120    the training options (sgd.h), the rows of options.h's mlp_options
 *                  with a slot, in slot order (model.c reads and writes them from it):
 *                    u32 epochs planned, u32 batch, u32 schedule (0 constant, 1 linear,
 *                    2 step, 3 cosine), f32 lr, f32 lr_end, u32 lr_step, f32 lr_gamma,
 *                    u32 warmup, f32 l2, f32 momentum, u32 nesterov (0/1), f32 maxnorm,
 *                    f32 drop_in, f32 drop_hidden, f32 translate, f32 rotate, f32 scale,
 *                    f32 elastic_alpha, f32 elastic_sigma, u32 validation images,
 *                    u32 transpose (0/1; version 3 on), u32 optimizer (0 sgd, 1 adam,
 *                    2 adamw), f32 beta1, f32 beta2, f32 eps, f32 weight_decay, f32 clip,
 *                    f32 label_smoothing, u32 patience, u32 flip (0/1) (these nine
 *                    version 4 on)
 *   ..      8      u64 seed
 *   ..      4      u32 training images (validation included)
 *   ..      4      f32 test accuracy of these parameters, in [0, 1]; -1 when not measured
 *   ..      4      u32 N, bytes of the command line that trained the model
 *                  (at most MLP_MODEL_MAX_CMDLINE)
 *   ..      N      the command line, without a terminating NUL
 *   ..      8      u64 P, number of parameters; must equal what the layer sizes imply
 *   ..      4P     f32 parameters in the layout of net.h: W0 b0 W1 b1 ...; with validation,
 *                  those of the epoch with the best validation accuracy
 *   ..      4      u32 S: 1 if the training state follows, 0 if not
 *                  (the next seven fields are mlp_sgd_state's, sgd.h)
 *   ..      8      u64 epochs completed                          } the training state:
 *   ..      8      u64 images done in the epoch under way, or 0  } what `mlp train --resume`
 *   ..      8      u64 shuffling generator state                 } needs to continue exactly
 *   ..      8      u64 generator state of the epoch under way    } where the run stopped
 *   ..      8      f64 sum of the costs of the epoch under way   }
 *   ..      8      u64 images right in the epoch under way       }
 *   ..      8      u64 steps taken (Adam's t; version 4 on)       }
 *   ..      4      u32 CRC-32 of the training labels              }
 *   ..      4      u32 CRC-32 of the training images' pixels, one }
 *                  byte each as in the IDX file (version 2 on)    }
 *   ..      16     kernel implementation, NUL-padded ASCII        }
 *   ..      4      f32 best validation accuracy, -1 if none       }
 *   ..      4      u32 epoch that reached it                      }
 *   ..      4      u32 V: 1 if the optimiser's arrays follow      }
 *                  (momentum, adam, adamw), 0                     }
 *   ..      4P·V   f32 velocities or Adam's first moments, in the }
 *                  parameters' layout                             }
 *   ..      4P·V   f32 Adam's second moments (adam, adamw only)   }
 *   ..      4      u32 C: 1 if the last epoch's parameters follow }
 *                  (they differ from the ones above), 0           }
 *   ..      4P·C   f32 those parameters                           }
 *   ..      4      u32 CRC-32 (IEEE, as zlib) of every byte before it
 *
 * The file ends there. Version 3 is the same layout without the nine options of version 4
 * (they load as 0: SGD, no clipping, smoothing, patience or mirror images) and without the step count (it
 * loads as 0, which only Adam reads, and a version 3 file holds no Adam run). Version 2 is
 * version 3 without the transpose option (opt.transpose loads as 0); version 1 is version 2 without the images'
 * CRC: it loads with has_images_crc 0 (the images it was trained on cannot be checked). Every model `mlp train`
 * writes is also a checkpoint: it carries the training state. Saving writes a temporary file in the
 * same directory, flushes and syncs it, renames it over the destination and syncs the directory: a
 * failed or interrupted save leaves the previous file as it was, never half of a new one.
 * Non-finite parameters are never written.
 */
#ifndef MLP_MODEL_H
#define MLP_MODEL_H

#include "net.h"
#include "sgd.h"

#include <stdio.h>

#define MLP_MODEL_VERSION     4
#define MLP_MODEL_MAX_CMDLINE 4095 /* bytes of the command line recorded; never cut short */
#define MLP_MODEL_MAX_CLASSES 256  /* labels are bytes */

typedef struct {
    uint32_t rows, cols;                     /* input image shape */
    mlp_sgd_opts opt;                        /* how it was (or is being) trained */
    uint64_t seed;                           /* seed of initialisation and every random choice */
    uint32_t n_train;                        /* training images, validation ones included */
    float test_accuracy;                     /* [0, 1], or -1 when not measured */
    char cmdline[MLP_MODEL_MAX_CMDLINE + 1]; /* NUL-terminated */
    /* the training state; all zero when has_state is 0 */
    uint32_t has_state;
    mlp_sgd_state sgd;   /* the optimiser's: epochs completed, images done in the epoch under
                          * way, the generators, the cost sum and images right so far; the
                          * sums are written as 0 between epochs (pos 0), when none is under
                          * way, whatever they hold */
    uint32_t data_crc;   /* CRC-32 of the training labels */
    uint32_t images_crc; /* mlp_model_images_crc() of the training images; always written */
    /* set by a load: 1 if the file holds images_crc, 0 for a version 1 file */
    uint32_t has_images_crc;
    char kernels[16];    /* implementation that trained it, NUL-terminated */
    float best_val;      /* best validation accuracy so far, -1 if none */
    uint32_t best_epoch; /* the epoch that reached it */
    float *vel;          /* (n_params) velocities or Adam's first moments, or NULL */
    float *sq;           /* (n_params) Adam's second moments, or NULL */
    float *cur;          /* (n_params) the last epoch's parameters, when the file's own are
                          * the best-by-validation ones and differ; else NULL.
                          * Save: vel, sq and cur are read only. mlp_model_load leaves them
                          * NULL; mlp_model_load_state allocates them, released by
                          * mlp_model_meta_free() */
} mlp_model_meta;

/* Writes net and meta to f as described above and flushes f. Refuses, writing nothing:
 * MLP_EARG if meta->cmdline is longer than MLP_MODEL_MAX_CMDLINE (not NUL-terminated within
 * the array), MLP_ENUMERIC if a parameter or velocity is NaN or infinite. MLP_EIO if a write
 * fails. The messages name no file (f has none): the caller puts the name in front. */
mlp_status mlp_model_write(FILE *f, const mlp_net *net, const mlp_model_meta *meta, mlp_error *err);

/* mlp_model_write() to path, through a temporary file as described above; the messages name
 * the file. */
mlp_status mlp_model_save(const char *path, const mlp_net *net, const mlp_model_meta *meta,
                          mlp_error *err);

void mlp_model_meta_free(mlp_model_meta *meta);

/* Reads path into a new network (net must not hold one) able to run batches of max_batch
 * rows or of the model's training batch, whichever is larger, and meta, which holds no memory:
 * the velocities and last-epoch parameters of a training state are read through the checksum
 * and checked, not kept (meta->vel and meta->cur are NULL). Refuses, naming the file and the
 * problem, anything inconsistent: bad magic or version, sizes out of range, a length that is not
 * exactly what the header implies, a training state that does not add up, a parameter or velocity
 * that is NaN or infinite, or a checksum mismatch. */
mlp_status mlp_model_load(const char *path, mlp_net *net, size_t max_batch, mlp_model_meta *meta,
                          mlp_error *err);

/* mlp_model_load(), keeping what resuming the training needs besides: meta->vel and meta->cur
 * are allocated when the file holds them. Release them with mlp_model_meta_free(). */
mlp_status mlp_model_load_state(const char *path, mlp_net *net, size_t max_batch,
                                mlp_model_meta *meta, mlp_error *err);

/* The fingerprint a checkpoint keeps of its training images: the CRC-32 of the count pixels
 * as the bytes of the IDX file (x is pixel / 255, see idx.h), so the same images give the same
 * value plain or gzipped, on any host. */
uint32_t mlp_model_images_crc(const float *x, size_t count);

#endif
