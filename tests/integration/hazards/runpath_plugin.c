/* Found only through runpath_loader's DT_RUNPATH ($ORIGIN). */
int runpath_plugin_answer(void) { return 42; }
