/* distill-library-page.h — the Library view: the curated R1 models with a "will it fit" verdict
 * for this computer before downloading, the recommended model, one-click downloads with
 * progress / pause / resume / cancel, delete and open folder, and the models already on disk
 * (models folder, Hugging Face cache, Ollama). */
#pragma once

#include <adwaita.h>

#include "distill-hardware.h"
#include "distill-hub.h"

G_BEGIN_DECLS

#define DISTILL_TYPE_LIBRARY_PAGE (distill_library_page_get_type())
G_DECLARE_FINAL_TYPE(DistillLibraryPage, distill_library_page, DISTILL, LIBRARY_PAGE, AdwBin)

/* Replace the default services (a probing DistillHardware, a hub from $HF_ENDPOINT, the
 * hardware's models folder). models_dir NULL: the hardware's. */
void distill_library_page_set_services(DistillLibraryPage *self, DistillHardware *hardware, DistillHub *hub,
                                       const char *models_dir);

/* ---- state, for tests and for other views ---- */
/* "available", "downloading", "paused", "installed", or NULL when there is no such row */
const char *distill_library_page_get_quant_state(DistillLibraryPage *self, const char *model_id, const char *quant);
/* "gpu", "partial", "cpu", "no" plus " (estimate)" when not from the file's header; NULL before known */
char *distill_library_page_get_verdict(DistillLibraryPage *self, const char *model_id, const char *quant);
/* a button of a quant row: "download", "pause", "resume", "cancel", "delete", "open" */
GtkWidget *distill_library_page_get_quant_button(DistillLibraryPage *self, const char *model_id, const char *quant,
                                                 const char *which);
/* "qwen-7b/Q4_K_M", or NULL before the hardware is known */
const char *distill_library_page_get_recommended(DistillLibraryPage *self);
GtkWidget *distill_library_page_get_recommended_button(DistillLibraryPage *self);
gboolean distill_library_page_is_highlighted(DistillLibraryPage *self, const char *model_id);
/* The confirmation dialog on screen (delete), or NULL. */
AdwMessageDialog *distill_library_page_get_dialog(DistillLibraryPage *self);
/* Rows in "On this computer". */
guint distill_library_page_get_n_local(DistillLibraryPage *self);
/* Bytes/speed/ETA line of a downloading quant row ("" when idle). */
const char *distill_library_page_get_progress_text(DistillLibraryPage *self, const char *model_id, const char *quant);

/* "4.7 GB": the Hub's size once the tree API answered, else the catalog's hint */
const char *distill_library_page_get_size_text(DistillLibraryPage *self, const char *model_id, const char *quant);

/* Import a local GGUF: recorded and used where it is (no copy); what Import… and dropping a
 * .gguf file on the page do. */
gboolean distill_library_page_import_file(DistillLibraryPage *self, const char *path, GError **error);

/* Tests: 1 = act as on a metered connection, 0 = not metered, -1 = ask GNetworkMonitor. */
void distill_library_page_set_metered_override(DistillLibraryPage *self, int metered);

G_END_DECLS
