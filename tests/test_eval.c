/* eval: counts, confusion matrix, precision and recall on a network whose answers are known. */
#include "testutil.h"

#include "eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A 2-input, 3-class network with no hidden layer whose class is decided by the inputs:
 * W = [[10, 0], [0, 10], [-10, -10]], b = [0, 0, 5]: (1,0) -> 0, (0,1) -> 1, (0,0) -> 2. */
static void picker(mlp_net *net, size_t max_batch)
{
    mlp_error err;
    const size_t s[] = {2, 3};
    const float p[] = {10, 0, 0, 10, -10, -10, 0, 0, 5};
    assert_int_equal(
        mlp_net_init(net, s, 2, MLP_ACT_SIGMOID, MLP_COST_XENT, max_batch, NULL, NULL, &err),
        MLP_OK);
    memcpy(net->params, p, sizeof p);
}

static void test_confusion_precision_recall(void **state)
{
    (void)state;
    /* 5 rows: predictions 0, 1, 2, 2, 0 against labels 0, 1, 1, 2, 2 */
    float x[10] = {1, 0, 0, 1, 0, 0, 0, 0, 1, 0};
    uint8_t y[5] = {0, 1, 1, 2, 2};
    mlp_set s = {.n = 5, .rows = 1, .cols = 2, .dim = 2, .x = x, .y = y};
    mlp_eval_result r;
    mlp_error err;
    for (size_t mb = 1; mb <= 6; mb++) { /* any batch size gives the same counts */
        mlp_net net;
        picker(&net, mb);
        assert_int_equal(mlp_eval(&net, &s, &r, &err), MLP_OK);
        assert_int_equal(r.n, 5);
        assert_int_equal(r.correct, 3);
        assert_true(fabs(mlp_eval_accuracy(&r) - 0.6) < 1e-12);
        const size_t want[9] = {1, 0, 0, 0, 1, 1, 1, 0, 1};
        assert_memory_equal(r.confusion, want, sizeof want);
        assert_true(fabs(mlp_eval_precision(&r, 0) - 0.5) < 1e-12);
        assert_true(fabs(mlp_eval_recall(&r, 1) - 0.5) < 1e-12);
        assert_true(fabs(mlp_eval_precision(&r, 2) - 0.5) < 1e-12);
        assert_true(r.cost > 0 && isfinite(r.cost));
        mlp_eval_free(&r);
        mlp_net_free(&net);
    }
}

static void test_precision_undefined_without_predictions(void **state)
{
    (void)state;
    float x[2] = {1, 0};
    uint8_t y[1] = {1};
    mlp_set s = {.n = 1, .rows = 1, .cols = 2, .dim = 2, .x = x, .y = y};
    mlp_eval_result r;
    mlp_error err;
    mlp_net net;
    picker(&net, 4);
    assert_int_equal(mlp_eval(&net, &s, &r, &err), MLP_OK);
    assert_true(isnan(mlp_eval_precision(&r, 1))); /* nothing predicted as 1 */
    assert_true(isnan(mlp_eval_recall(&r, 2)));    /* nothing labelled 2 */
    assert_true(mlp_eval_recall(&r, 1) == 0.0);
    mlp_eval_free(&r);
    mlp_net_free(&net);
}

static void test_class_stats_and_f1(void **state)
{
    (void)state;
    /* the confusion of test_confusion_precision_recall: [[1,0,0],[0,1,1],[1,0,1]] */
    size_t conf[9] = {1, 0, 0, 0, 1, 1, 1, 0, 1};
    mlp_eval_result r = {.n = 5, .correct = 3, .classes = 3, .confusion = conf};
    mlp_eval_class c0 = mlp_eval_class_stats(&r, 0), c1 = mlp_eval_class_stats(&r, 1),
                   c2 = mlp_eval_class_stats(&r, 2);
    assert_int_equal(c0.images, 1);
    assert_int_equal(c0.predicted, 2);
    assert_int_equal(c0.correct, 1);
    assert_true(fabs(c0.f1 - 2.0 / 3.0) < 1e-12); /* 2 * 0.5 * 1 / 1.5 */
    assert_int_equal(c1.images, 2);
    assert_int_equal(c1.predicted, 1);
    assert_true(fabs(c1.precision - 1.0) < 1e-12 && fabs(c1.recall - 0.5) < 1e-12);
    assert_true(fabs(c2.f1 - 0.5) < 1e-12);

    /* class 0 is predicted once and never right: F1 0, not undefined */
    size_t wrong[4] = {0, 2, 1, 3};
    mlp_eval_result w = {.n = 6, .correct = 3, .classes = 2, .confusion = wrong};
    assert_true(mlp_eval_class_stats(&w, 0).f1 == 0.0);
    /* class 0 is never predicted: precision, and so F1, undefined */
    size_t never[4] = {0, 2, 0, 3};
    mlp_eval_result n = {.n = 5, .correct = 3, .classes = 2, .confusion = never};
    assert_true(isnan(mlp_eval_class_stats(&n, 0).precision));
    assert_true(isnan(mlp_eval_class_stats(&n, 0).f1));
    assert_true(fabs(mlp_eval_class_stats(&n, 1).f1 - 0.75) < 1e-12); /* p 0.6, r 1 */
}

static void test_top_confusions(void **state)
{
    (void)state;
    enum { K = 26 };
    size_t conf[K * K] = {0};
    for (size_t c = 0; c < K; c++)
        conf[c * K + c] = 100; /* the diagonal never counts */
    conf[4 * K + 9] = 48;
    conf[7 * K + 2] = 31;
    conf[25 * K + 0] = 31; /* a tie: the lower true class first */
    conf[3 * K + 5] = 2;
    conf[1 * K + 24] = 1;
    mlp_eval_result r = {.classes = K, .confusion = conf};
    mlp_eval_confusion top[8];
    assert_int_equal(mlp_eval_top_confusions(&r, top, 8), 5); /* only non-zero cells */
    const size_t want[5][3] = {{4, 9, 48}, {7, 2, 31}, {25, 0, 31}, {3, 5, 2}, {1, 24, 1}};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(top[i].truth, want[i][0]);
        assert_int_equal(top[i].predicted, want[i][1]);
        assert_int_equal(top[i].count, want[i][2]);
    }
    assert_int_equal(mlp_eval_top_confusions(&r, top, 2), 2);
    assert_int_equal(top[1].truth, 7);
    assert_int_equal(mlp_eval_top_confusions(&r, top, 0), 0);
}

static void test_mismatched_data_refused(void **state)
{
    (void)state;
    float x[3] = {1, 0, 0};
    uint8_t y[1] = {3};
    mlp_set wide = {.n = 1, .rows = 1, .cols = 3, .dim = 3, .x = x, .y = y};
    mlp_set bad_label = {.n = 1, .rows = 1, .cols = 2, .dim = 2, .x = x, .y = y};
    mlp_eval_result r;
    mlp_error err;
    mlp_net net;
    picker(&net, 4);
    assert_int_equal(mlp_eval(&net, &wide, &r, &err), MLP_EARG);
    assert_non_null(strstr(err.msg, "3 pixels"));
    assert_int_equal(mlp_eval(&net, &bad_label, &r, &err), MLP_EARG);
    assert_non_null(strstr(err.msg, "label 3"));
    assert_null(r.confusion);
    mlp_net_free(&net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_confusion_precision_recall),
        cmocka_unit_test(test_precision_undefined_without_predictions),
        cmocka_unit_test(test_class_stats_and_f1),
        cmocka_unit_test(test_top_confusions),
        cmocka_unit_test(test_mismatched_data_refused),
    };
    return cmocka_run_group_tests_name("eval", tests, NULL, NULL);
}
