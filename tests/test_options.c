/*
 * test_options: the tables of options.h: every name table ends where its enum does; the rows
 * of mlp_options with a slot are distinct fields of mlp_sgd_opts that together make the 84
 * bytes of the model file's options block in model.h's order; the reports' phrases and the
 * record's values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "model.h"
#include "options.h"
#include "sgd.h"

#include <string.h>

static void test_name_tables(void **state)
{
    (void)state;
    assert_int_equal(mlp_opt_count(mlp_opt_act_names), MLP_ACT_RELU + 1);
    assert_int_equal(mlp_opt_count(mlp_opt_cost_names), MLP_COST_XENT + 1);
    assert_int_equal(mlp_opt_count(mlp_opt_schedule_names), MLP_SCHED_COSINE + 1);
    assert_string_equal(mlp_act_name(MLP_ACT_TANH), "tanh");
    assert_string_equal(mlp_cost_name(MLP_COST_XENT), "xent");
    assert_string_equal(mlp_opt_name(mlp_opt_schedule_names, MLP_SCHED_STEP), "step");
    assert_string_equal(mlp_opt_name(mlp_opt_schedule_names, 4), "?"); /* one past the last */
}

/* The bytes an option of the model file's block takes there: 4 per value. */
static size_t file_bytes(const mlp_option *f)
{
    return f->type == MLP_OPT_FLOAT || f->type == MLP_OPT_ELASTIC ? f->size : 4;
}

/* The options block: slots 1..N without a gap, each row once, every row inside the sgd
 * member and of a type the block can hold, disjoint fields, 120 bytes in all (84 in the files
 * of version 3, 80 in those of version 2 and before), in the order model.h gives. */
static void test_file_block(void **state)
{
    (void)state;
    unsigned char used[sizeof(mlp_sgd_opts)] = {0};
    size_t bytes = 0, bytes_v2 = 0, bytes_v3 = 0, slots = 0;
    for (size_t k = 0; k < MLP_OPTIONS; k++)
        slots += mlp_options[k].slot > 0;
    for (int slot = 1; slot <= (int)slots; slot++) {
        const mlp_option *f = mlp_option_in_slot(slot);
        assert_non_null(f);
        assert_true(f->at >= offsetof(mlp_train_opts, sgd));
        size_t at = f->at - offsetof(mlp_train_opts, sgd);
        assert_true(at + f->size <= sizeof(mlp_sgd_opts));
        assert_true(f->type == MLP_OPT_SIZE || f->type == MLP_OPT_FLOAT ||
                    f->type == MLP_OPT_SWITCH || f->type == MLP_OPT_NAME ||
                    f->type == MLP_OPT_ELASTIC);
        assert_true(f->since >= 1 && f->since <= MLP_MODEL_VERSION);
        for (size_t b = 0; b < f->size; b++) {
            if (used[at + b])
                fail_msg("%s overlaps another option", f->flag);
            used[at + b] = 1;
        }
        bytes += file_bytes(f);
        bytes_v2 += f->since <= 2 ? file_bytes(f) : 0;
        bytes_v3 += f->since <= 3 ? file_bytes(f) : 0;
    }
    assert_null(mlp_option_in_slot((int)slots + 1));
    assert_null(mlp_option_in_slot(0));
    assert_int_equal(bytes, 120);
    assert_int_equal(bytes_v3, 84);
    assert_int_equal(bytes_v2, 80);
    assert_string_equal(mlp_option_in_slot(1)->flag, "--epochs");
    assert_string_equal(mlp_option_in_slot(3)->flag, "--schedule");
    assert_string_equal(mlp_option_in_slot(11)->flag, "--nesterov");
    assert_string_equal(mlp_option_in_slot(18)->flag, "--elastic");
    assert_string_equal(mlp_option_in_slot(19)->flag, "--val");
    assert_string_equal(mlp_option_in_slot(20)->flag, "--transpose");
    assert_string_equal(mlp_option_in_slot(21)->flag, "--optimizer");
    assert_string_equal(mlp_option_in_slot(28)->flag, "--patience");
    assert_string_equal(mlp_option_in_slot((int)slots)->flag, "--flip");
}

/* Every row is a distinct flag with help; a row that the record spells has a distinct rank;
 * a row in a preset or in the file has a field. */
static void test_rows(void **state)
{
    (void)state;
    for (size_t k = 0; k < MLP_OPTIONS; k++) {
        const mlp_option *f = &mlp_options[k];
        assert_true(f->flag && !strncmp(f->flag, "--", 2) && f->help && f->help[0]);
        assert_true(!f->preset || f->size > 0);
        assert_true(!f->slot || (f->size > 0 && f->json && f->json[0]));
        for (size_t j = 0; j < k; j++) {
            assert_string_not_equal(f->flag, mlp_options[j].flag);
            assert_true(!f->rec || f->rec != mlp_options[j].rec);
            assert_true(!f->json || !mlp_options[j].json || strcmp(f->json, mlp_options[j].json));
        }
    }
    assert_non_null(mlp_options[1].section); /* the first option opens a section */
}

static mlp_train_opts plain(void)
{
    mlp_train_opts o = {.kernels = "ref", .seed = 7, .n_hidden = 2, .hidden = {16, 16}};
    o.sgd = (mlp_sgd_opts){.epochs = 40, .batch = 10, .lr = 1.5f, .lr_end = 0.03f,
                           .schedule = MLP_SCHED_LINEAR, .lr_step = 10, .lr_gamma = 0.1f,
                           .l2 = 2e-5f};
    return o;
}

/* The phrases of a section: those shown, in the table's order, with their values; the
 * schedule's own options only under it, the ones that are off left out. */
static void test_say(void **state)
{
    (void)state;
    char out[1024];
    mlp_train_opts o = plain();
    mlp_options_say(out, sizeof out, "gradient descent", &o);
    assert_string_equal(out, "epochs 40, batch 10, learning rate 1.5, linear schedule, ending at 0.03, "
                             "momentum 0");
    mlp_options_say(out, sizeof out, "regularisation", &o);
    assert_string_equal(out, "L2 2e-05");
    mlp_options_say(out, sizeof out, "running", &o);
    assert_string_equal(out, "seed 7, kernels ref");
    o.sgd.schedule = MLP_SCHED_STEP;
    o.sgd.momentum = 0.9f;
    o.sgd.nesterov = true;
    o.sgd.warmup = 2;
    mlp_options_say(out, sizeof out, "gradient descent", &o);
    assert_string_equal(out, "epochs 40, batch 10, learning rate 1.5, step schedule, every 10 "
                             "epochs, times 0.1, 2 warm-up epochs, momentum 0.9, Nesterov");
    o.sgd.aug.elastic_alpha = 34.0f;
    o.sgd.aug.elastic_sigma = 4.0f;
    o.sgd.drop_hidden = 0.5f;
    mlp_options_say(out, sizeof out, "regularisation", &o);
    assert_string_equal(out, "L2 2e-05, hidden dropout 0.5, elastic 34,4");
    mlp_options_say(out, sizeof out, "no such section", &o);
    assert_string_equal(out, "");
    mlp_options_say(out, 12, "gradient descent", &o); /* cut short, still a string */
    assert_string_equal(out, "epochs 40");
}

/* The values as the record spells them. */
static void test_values(void **state)
{
    (void)state;
    char out[64];
    mlp_train_opts o = plain();
    const char *want[][2] = {{"--hidden", "16,16"}, {"--lr", "1.5"},  {"--schedule", "linear"},
                             {"--nesterov", ""},    {"--seed", "7"},  {"--kernels", "ref"},
                             {"--activation", "sigmoid"}};
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++)
        for (size_t k = 0; k < MLP_OPTIONS; k++)
            if (!strcmp(mlp_options[k].flag, want[w][0])) {
                mlp_option_value(out, sizeof out, &mlp_options[k], &o);
                assert_string_equal(out, want[w][1]);
            }
    o.n_hidden = 0;
    mlp_option_value(out, sizeof out, &mlp_options[1], &o);
    assert_string_equal(out, "none");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_tables),
        cmocka_unit_test(test_file_block),
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_say),
        cmocka_unit_test(test_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
