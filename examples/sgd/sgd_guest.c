/* SPDX-License-Identifier: Apache-2.0 */
/* HOGWILD SGD as a Granary function: every call runs one batch of examples
 * against the shared weights. Both the weights ("sgd_weights", float per
 * feature) and the data set ("sgd_examples", see sgd.h) are state keys
 * mapped straight into this Faaslet's memory: no copy in, no copy out;
 * Faaslets on one host update the same weights in place.
 * Input: "<from> <to> <learning rate>". */
#include <stdio.h>

#include <granary/faas.h>

#include "sgd.h"

GRANARY_MAIN(sgd_main)
{
    char in[128];
    int n = granary_input_read(in, sizeof in - 1, 0);
    in[n < 0 ? 0 : n] = '\0';
    unsigned from = 0, to = 0;
    float lr = 0.1f;
    if (sscanf(in, "%u %u %f", &from, &to, &lr) != 3)
        return 1;
    int32_t esize = granary_state_size("sgd_examples", 12);
    if (esize <= 0)
        return 2;
    const void* ex = granary_state_pointer("sgd_examples", esize, NULL);
    float* w = granary_state_pointer("sgd_weights", SGD_FEATURES * 4, NULL);
    if (!ex || !w)
        return 3;
    sgd_view v = sgd_view_of(ex);
    sgd_batch(&v, w, from, to, lr);
    return 0;
}
