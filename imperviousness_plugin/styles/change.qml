<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="AllStyleCategories" hasScaleBasedVisibilityFlag="0" minScale="1e+08" maxScale="0">
  <pipe>
    <provider>
      <resampling enabled="false" maxOversampling="2" zoomedInResamplingMethod="nearestNeighbour" zoomedOutResamplingMethod="nearestNeighbour"/>
    </provider>
    <rasterrenderer type="singlebandpseudocolor" band="1" alphaBand="-1" opacity="1" nodataColor="" classificationMin="0" classificationMax="201">
      <minMaxOrigin>
        <limits>None</limits>
        <extent>WholeRaster</extent>
        <statAccuracy>Estimated</statAccuracy>
        <cumulativeCutLower>0.02</cumulativeCutLower>
        <cumulativeCutUpper>0.98</cumulativeCutUpper>
        <stdDevFactor>2</stdDevFactor>
      </minMaxOrigin>
      <rastershader>
        <colorrampshader colorRampType="INTERPOLATED" classificationMode="1" clip="1" minimumValue="0" maximumValue="201" labelPrecision="0">
          <item value="0" color="#036600" alpha="255" label="-100 (strong decrease)"/>
          <item value="50" color="#3fb200" alpha="255" label="-50"/>
          <item value="99" color="#7fff00" alpha="255" label="-1 (decrease)"/>
          <item value="100" color="#b2b2b2" alpha="255" label="0 (no change)"/>
          <item value="101" color="#ffff00" alpha="255" label="+1 (increase)"/>
          <item value="150" color="#ffbf00" alpha="255" label="+50"/>
          <item value="200" color="#ff0000" alpha="255" label="+100 (strong increase)"/>
          <item value="201" color="#f0f0f0" alpha="255" label="no imperviousness in both years"/>
        </colorrampshader>
      </rastershader>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" invertColors="0" colorizeOn="0" colorizeRed="255" colorizeGreen="128" colorizeBlue="128" colorizeStrength="100"/>
    <rasterresampler maxOversampling="2"/>
    <resamplingStage>resamplingFilter</resamplingStage>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
