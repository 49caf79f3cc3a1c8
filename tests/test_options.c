/*
 * test_options: the tables of options.h: every name table ends where its enum does, and the
 * model file's option fields are distinct fields of mlp_sgd_opts, each inside it, that
 * together hold every byte model.c writes for them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

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

static size_t kind_size(mlp_opt_kind k)
{
    return k == MLP_OPT_U32 ? sizeof(size_t)
           : k == MLP_OPT_F32 ? sizeof(float)
           : k == MLP_OPT_BOOL ? sizeof(bool)
                               : sizeof(mlp_schedule);
}

static void test_fields_are_distinct_fields(void **state)
{
    (void)state;
    unsigned char used[sizeof(mlp_sgd_opts)] = {0};
    for (size_t k = 0; k < MLP_OPT_FIELDS; k++) {
        const mlp_opt_field *f = &mlp_opt_fields[k];
        size_t n = kind_size(f->kind);
        assert_non_null(f->name);
        assert_true(f->at + n <= sizeof(mlp_sgd_opts));
        for (size_t b = 0; b < n; b++) {
            if (used[f->at + b])
                fail_msg("%s overlaps another field", f->name);
            used[f->at + b] = 1;
        }
        for (size_t j = 0; j < k; j++)
            assert_string_not_equal(f->name, mlp_opt_fields[j].name);
    }
    /* spot checks of the file order (model.h) */
    assert_int_equal(mlp_opt_fields[0].at, offsetof(mlp_sgd_opts, epochs));
    assert_int_equal(mlp_opt_fields[2].kind, MLP_OPT_SCHEDULE);
    assert_int_equal(mlp_opt_fields[10].kind, MLP_OPT_BOOL);
    assert_int_equal(mlp_opt_fields[MLP_OPT_FIELDS - 1].at, offsetof(mlp_sgd_opts, val));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_tables),
        cmocka_unit_test(test_fields_are_distinct_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
