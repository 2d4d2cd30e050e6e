#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define DISTILL_TYPE_LIBRARY_PAGE (distill_library_page_get_type())
G_DECLARE_FINAL_TYPE(DistillLibraryPage, distill_library_page, DISTILL, LIBRARY_PAGE, AdwBin)

G_END_DECLS
