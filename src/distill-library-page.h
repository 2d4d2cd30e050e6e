/* distill-library-page.h — the Library view: the curated R1 models with a "will it fit" verdict
 * for this computer before downloading, the recommended model, one-click downloads with
 * progress / pause / resume / cancel, delete and open folder, and the models already on disk
 * (models folder, Hugging Face cache, Ollama). */
#pragma once

#include <adwaita.h>

#include "distill-download-manager.h"
#include "distill-hardware.h"
#include "distill-hub-search.h"
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
/* a button of a quant row: "download", "pause", "resume", "cancel", "delete", "open", "keep"
 * (keep a download that failed verification as it is) */
GtkWidget *distill_library_page_get_quant_button(DistillLibraryPage *self, const char *model_id, const char *quant,
                                                 const char *which);
/* "qwen-7b/Q4_K_M", or NULL before the hardware is known */
/* The hardware the fit verdicts use (NULL before the page is first shown or given services). */
DistillHardware *distill_library_page_get_hardware(DistillLibraryPage *self);
const char *distill_library_page_get_recommended(DistillLibraryPage *self);
GtkWidget *distill_library_page_get_recommended_button(DistillLibraryPage *self);
gboolean distill_library_page_is_highlighted(DistillLibraryPage *self, const char *model_id);
/* The confirmation dialog on screen (delete), or NULL. */
AdwMessageDialog *distill_library_page_get_dialog(DistillLibraryPage *self);
/* Rows in "On this computer". */
guint distill_library_page_get_n_local(DistillLibraryPage *self);
/* The fit verdict of row i of "On this computer" ("gpu", "partial", "cpu", "no", "unreadable"),
 * NULL while its header is still being read (in a worker thread) or when not checked. */
const char *distill_library_page_get_local_verdict(DistillLibraryPage *self, guint i);
const char *distill_library_page_get_local_path(DistillLibraryPage *self, guint i);
/* Tests: make every local header read take this long (a slow disk). */
void distill_library_page_set_local_fit_delay(DistillLibraryPage *self, guint ms);

/* Use another models folder now (what a change of the models-folder setting does): the
 * library rescans, new downloads go there (running ones finish where they are). */
void distill_library_page_set_models_dir(DistillLibraryPage *self, const char *models_dir);
const char *distill_library_page_get_models_dir(DistillLibraryPage *self);
DistillDownloadManager *distill_library_page_get_manager(DistillLibraryPage *self);
/* The "Search Hugging Face" part of the page. */
DistillHubSearch *distill_library_page_get_search(DistillLibraryPage *self);

/* The sha256 a quant's download is expected to have (the Hub's once its tree was read). */
const char *distill_library_page_get_sha256(DistillLibraryPage *self, const char *model_id, const char *quant);

/* Bytes/speed/ETA line of a downloading quant row ("" when idle). */
const char *distill_library_page_get_progress_text(DistillLibraryPage *self, const char *model_id, const char *quant);

/* "4.7 GB": the Hub's size once the tree API answered, else the catalog's hint */
const char *distill_library_page_get_size_text(DistillLibraryPage *self, const char *model_id, const char *quant);

/* Import a local GGUF: recorded and used where it is (no copy); what Import… and dropping a
 * .gguf file on the page do. */
gboolean distill_library_page_import_file(DistillLibraryPage *self, const char *path, GError **error);

/* The verdict pill of a row: "GPU" / "Partly GPU" / "CPU only" / "Won’t fit" (+ " · est." when
 * estimate), colored, the fit message as tooltip; "Checking…" while not known. Shared by the
 * catalog rows, the local models and the Hub search. */
void distill_library_set_verdict_label(GtkLabel *label, const still_fit *fit, gboolean known, gboolean estimate);

/* Tests: 1 = act as on a metered connection, 0 = not metered, -1 = ask GNetworkMonitor. */
void distill_library_page_set_metered_override(DistillLibraryPage *self, int metered);

G_END_DECLS
