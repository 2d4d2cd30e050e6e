/* distill-offload.c — the engine's offload line read back (see distill-offload.h). */
#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "distill-offload.h"

/* The text inside the parentheses that open at *p ("(" included at *p), nested ones kept; *p moves
 * past the closing one. NULL when *p does not open a balanced group. */
static char *take_group(const char **p)
{
  const char *s = *p;
  if (*s != '(') return NULL;
  const char *start = ++s;
  int depth = 1;
  for (; *s; s++) {
    if (*s == '(') depth++;
    else if (*s == ')' && --depth == 0) break;
  }
  if (depth != 0) return NULL;
  *p = s + 1;
  return g_strndup(start, s - start);
}

/* "Vulkan0 (NAME)" at *p: NAME; *p moves past it. NULL when *p is not that. */
static char *take_vulkan_device(const char **p)
{
  const char *s = *p;
  if (!g_str_has_prefix(s, "Vulkan")) return NULL;
  s += strlen("Vulkan");
  if (!g_ascii_isdigit(*s)) return NULL;
  while (g_ascii_isdigit(*s)) s++;
  if (*s++ != ' ') return NULL;
  char *name = take_group(&s);
  if (name) *p = s;
  return name;
}

void distill_offload_parse(const char *line, DistillOffload *out)
{
  memset(out, 0, sizeof *out);
  int on = 0, total = 0, used = 0;
  if (line == NULL || sscanf(line, "offload: %d/%d layers%n", &on, &total, &used) != 2 || used == 0 || on < 0 ||
      total <= 0 || on > total)
    return;
  out->gpu_layers = on;
  out->n_layers = total;
  const char *p = line + used;
  if (!g_str_has_prefix(p, " on ")) return;
  p += strlen(" on ");

  if (on == 0) {
    /* "a GPU (CPU only)", "a GPU (REASON; running on the CPU[ from then on])" */
    if (g_str_has_prefix(p, "a GPU ")) p += strlen("a GPU ");
    g_autofree char *group = take_group(&p);
    if (group == NULL || g_str_equal(group, "CPU only")) return;
    const char *tails[] = {"; running on the CPU from then on", "; running on the CPU"};
    for (guint i = 0; i < G_N_ELEMENTS(tails); i++)
      if (g_str_has_suffix(group, tails[i])) {
        group[strlen(group) - strlen(tails[i])] = '\0';
        out->gpu_failed = i == 0;
        break;
      }
    out->remark = g_steal_pointer(&group);
    return;
  }

  char *name;
  while (out->n_devices < DISTILL_OFFLOAD_MAX_DEVICES && (name = take_vulkan_device(&p)) != NULL) {
    int k = out->n_devices++;
    out->names[k] = name;
    out->layers[k] = on;
    if (*p == ' ' && g_ascii_isdigit(p[1])) { /* a split's layer count */
      char *end = NULL;
      out->layers[k] = (int)g_ascii_strtoll(p + 1, &end, 10);
      p = end;
    }
    if (!g_str_has_prefix(p, " + ")) break;
    p += 3;
  }
  if (out->n_devices == 0) {
    /* a bare name (older lines): it ends where the remarks in parentheses begin */
    const char *paren = strstr(p, " (");
    g_autofree char *bare = g_strstrip(paren ? g_strndup(p, paren - p) : g_strdup(p));
    if (*bare) {
      out->names[0] = g_steal_pointer(&bare);
      out->layers[0] = on;
      out->n_devices = 1;
    }
    if (paren) p = paren;
    else p += strlen(p);
  }
  /* " (fewer than asked: REASON)" */
  while (*p == ' ') p++;
  g_autofree char *group = take_group(&p);
  if (group) out->remark = g_strdup(g_str_has_prefix(group, "fewer than asked: ") ? group + 18 : group);
}

void distill_offload_clear(DistillOffload *o)
{
  for (int i = 0; i < o->n_devices && i < DISTILL_OFFLOAD_MAX_DEVICES; i++) g_free(o->names[i]);
  g_free(o->remark);
  memset(o, 0, sizeof *o);
}

char *distill_offload_devices(const DistillOffload *o)
{
  GString *s = g_string_new(NULL);
  for (int i = 0; i < o->n_devices; i++) {
    if (i) g_string_append(s, " + ");
    g_string_append(s, o->names[i]);
  }
  return g_string_free(s, FALSE);
}

char *distill_offload_describe(const char *line)
{
  DistillOffload o;
  distill_offload_parse(line, &o);
  if (o.n_layers == 0) return g_strdup(line ? line : "");
  GString *s = g_string_new(NULL);
  if (o.gpu_layers == 0) {
    if (o.gpu_failed)
      /* Translators: the GPU failed during the session; %s is the engine's reason, in English */
      g_string_printf(s, _("On the CPU since the GPU failed: %s"), o.remark);
    else if (o.remark)
      /* Translators: %s is the engine's reason for not using a GPU, in English */
      g_string_printf(s, _("On the CPU: %s"), o.remark);
    else g_string_assign(s, _("On the CPU"));
  } else {
    g_autofree char *where = NULL;
    if (o.n_devices > 1) {
      GString *list = g_string_new(NULL);
      for (int i = 0; i < o.n_devices; i++) {
        if (i) g_string_append(list, _(", "));
        /* Translators: a GPU's name and how many of the model's layers it holds */
        g_string_append_printf(list, g_dngettext(GETTEXT_PACKAGE, "%1$s (%2$d layer)", "%1$s (%2$d layers)",
                                                 o.layers[i]),
                               o.names[i], o.layers[i]);
      }
      /* Translators: %1$d GPUs, then the list of them with their layers */
      where = g_strdup_printf(_("on %1$d GPUs: %2$s"), o.n_devices, list->str);
      g_string_free(list, TRUE);
    } else {
      /* Translators: %s is the GPU's name */
      where = g_strdup_printf(_("on the GPU (%s)"), o.n_devices ? o.names[0] : _("unknown"));
    }
    if (o.gpu_layers == o.n_layers)
      /* Translators: "All 28 layers on the GPU (NVIDIA GeForce RTX 4090)" */
      g_string_printf(s, g_dngettext(GETTEXT_PACKAGE, "All %1$d layer %2$s", "All %1$d layers %2$s", o.n_layers),
                      o.n_layers, where);
    else
      /* Translators: "20 of 48 layers on the GPU (AMD Radeon RX 7600), the rest on the CPU" */
      g_string_printf(s,
                      g_dngettext(GETTEXT_PACKAGE, "%1$d of %2$d layer %3$s, the rest on the CPU",
                                  "%1$d of %2$d layers %3$s, the rest on the CPU", o.n_layers),
                      o.gpu_layers, o.n_layers, where);
    if (o.remark)
      /* Translators: why fewer layers than asked went to the GPU; %s is the engine's reason, in English */
      g_string_append_printf(s, _(" (fewer than asked: %s)"), o.remark);
  }
  distill_offload_clear(&o);
  return g_string_free(s, FALSE);
}
