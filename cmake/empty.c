/* Keeps every library non-empty while its directory has no sources yet. */
typedef int iommusim_empty_translation_unit;
