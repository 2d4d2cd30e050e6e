/* distill-local-fit.c — see distill-local-fit.h. */
#include "config.h"

#include "distill-local-fit.h"

typedef struct {
  GPtrArray *paths; /* char*, may hold NULL */
  still_hardware hw;
  guint delay_ms;
  DistillLocalFit *results;
} LocalFitJob;

static void local_fit_job_free(LocalFitJob *j)
{
  g_ptr_array_unref(j->paths);
  g_free(j->results);
  g_free(j);
}

static void local_fit_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  (void)source;
  LocalFitJob *j = data;
  for (guint i = 0; i < j->paths->len; i++) {
    if (g_cancellable_is_cancelled(cancellable)) break;
    const char *path = g_ptr_array_index(j->paths, i);
    if (path == NULL) continue;
    if (j->delay_ms) g_usleep((gulong)j->delay_ms * 1000);
    still_error err = {0};
    still_fit_params p = still_fit_params_default();
    j->results[i].checked = TRUE;
    j->results[i].ok = still_fit_estimate_file(path, &j->hw, &p, &j->results[i].fit, &err) == STILL_OK;
  }
  g_task_return_boolean(task, TRUE);
}

void distill_local_fit_async(GPtrArray *paths, const still_hardware *hw, guint delay_ms, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  LocalFitJob *j = g_new0(LocalFitJob, 1);
  j->paths = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < paths->len; i++) g_ptr_array_add(j->paths, g_strdup(g_ptr_array_index(paths, i)));
  j->hw = *hw;
  j->delay_ms = delay_ms;
  j->results = g_new0(DistillLocalFit, MAX(paths->len, 1));
  GTask *task = g_task_new(NULL, cancellable, callback, user_data);
  g_task_set_source_tag(task, distill_local_fit_async);
  g_task_set_task_data(task, j, (GDestroyNotify)local_fit_job_free);
  g_task_run_in_thread(task, local_fit_thread);
  g_object_unref(task);
}

DistillLocalFit *distill_local_fit_finish(GAsyncResult *result, guint *n_results, GError **error)
{
  g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
  if (n_results) *n_results = 0;
  if (!g_task_propagate_boolean(G_TASK(result), error)) return NULL;
  LocalFitJob *j = g_task_get_task_data(G_TASK(result));
  if (n_results) *n_results = j->paths->len;
  return g_memdup2(j->results, sizeof(DistillLocalFit) * MAX(j->paths->len, 1));
}
