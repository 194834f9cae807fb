"""Tools that are not the plugin: the sample simulator, training-data simulation, model builders."""
