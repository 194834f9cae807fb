<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="AllStyleCategories" hasScaleBasedVisibilityFlag="0" minScale="1e+08" maxScale="0">
  <pipe>
    <provider>
      <resampling enabled="false" maxOversampling="2" zoomedInResamplingMethod="nearestNeighbour" zoomedOutResamplingMethod="nearestNeighbour"/>
    </provider>
    <rasterrenderer type="paletted" band="1" alphaBand="-1" opacity="1" nodataColor="">
      <minMaxOrigin>
        <limits>None</limits>
        <extent>WholeRaster</extent>
        <statAccuracy>Estimated</statAccuracy>
        <cumulativeCutLower>0.02</cumulativeCutLower>
        <cumulativeCutUpper>0.98</cumulativeCutUpper>
        <stdDevFactor>2</stdDevFactor>
      </minMaxOrigin>
      <colorPalette>
        <paletteEntry value="50" color="#d7191c" alpha="255" label="50 %"/>
        <paletteEntry value="51" color="#d92223" alpha="255" label="51 %"/>
        <paletteEntry value="52" color="#da2b29" alpha="255" label="52 %"/>
        <paletteEntry value="53" color="#dc3530" alpha="255" label="53 %"/>
        <paletteEntry value="54" color="#dd3e36" alpha="255" label="54 %"/>
        <paletteEntry value="55" color="#df473d" alpha="255" label="55 %"/>
        <paletteEntry value="56" color="#e15043" alpha="255" label="56 %"/>
        <paletteEntry value="57" color="#e2594a" alpha="255" label="57 %"/>
        <paletteEntry value="58" color="#e46350" alpha="255" label="58 %"/>
        <paletteEntry value="59" color="#e56c57" alpha="255" label="59 %"/>
        <paletteEntry value="60" color="#e7755d" alpha="255" label="60 %"/>
        <paletteEntry value="61" color="#e97e64" alpha="255" label="61 %"/>
        <paletteEntry value="62" color="#ea876a" alpha="255" label="62 %"/>
        <paletteEntry value="63" color="#ec9171" alpha="255" label="63 %"/>
        <paletteEntry value="64" color="#ed9a77" alpha="255" label="64 %"/>
        <paletteEntry value="65" color="#efa37e" alpha="255" label="65 %"/>
        <paletteEntry value="66" color="#f1ac84" alpha="255" label="66 %"/>
        <paletteEntry value="67" color="#f2b58b" alpha="255" label="67 %"/>
        <paletteEntry value="68" color="#f4bf91" alpha="255" label="68 %"/>
        <paletteEntry value="69" color="#f5c898" alpha="255" label="69 %"/>
        <paletteEntry value="70" color="#f7d19e" alpha="255" label="70 %"/>
        <paletteEntry value="71" color="#f9daa5" alpha="255" label="71 %"/>
        <paletteEntry value="72" color="#fae3ab" alpha="255" label="72 %"/>
        <paletteEntry value="73" color="#fcedb2" alpha="255" label="73 %"/>
        <paletteEntry value="74" color="#fdf6b8" alpha="255" label="74 %"/>
        <paletteEntry value="75" color="#ffffbf" alpha="255" label="75 %"/>
        <paletteEntry value="76" color="#f6fbba" alpha="255" label="76 %"/>
        <paletteEntry value="77" color="#edf7b5" alpha="255" label="77 %"/>
        <paletteEntry value="78" color="#e4f2b0" alpha="255" label="78 %"/>
        <paletteEntry value="79" color="#daeeab" alpha="255" label="79 %"/>
        <paletteEntry value="80" color="#d1eaa6" alpha="255" label="80 %"/>
        <paletteEntry value="81" color="#c8e6a1" alpha="255" label="81 %"/>
        <paletteEntry value="82" color="#bfe29c" alpha="255" label="82 %"/>
        <paletteEntry value="83" color="#b6dd97" alpha="255" label="83 %"/>
        <paletteEntry value="84" color="#add992" alpha="255" label="84 %"/>
        <paletteEntry value="85" color="#a3d58d" alpha="255" label="85 %"/>
        <paletteEntry value="86" color="#9ad188" alpha="255" label="86 %"/>
        <paletteEntry value="87" color="#91cd83" alpha="255" label="87 %"/>
        <paletteEntry value="88" color="#88c87d" alpha="255" label="88 %"/>
        <paletteEntry value="89" color="#7fc478" alpha="255" label="89 %"/>
        <paletteEntry value="90" color="#76c073" alpha="255" label="90 %"/>
        <paletteEntry value="91" color="#6cbc6e" alpha="255" label="91 %"/>
        <paletteEntry value="92" color="#63b869" alpha="255" label="92 %"/>
        <paletteEntry value="93" color="#5ab364" alpha="255" label="93 %"/>
        <paletteEntry value="94" color="#51af5f" alpha="255" label="94 %"/>
        <paletteEntry value="95" color="#48ab5a" alpha="255" label="95 %"/>
        <paletteEntry value="96" color="#3fa755" alpha="255" label="96 %"/>
        <paletteEntry value="97" color="#35a350" alpha="255" label="97 %"/>
        <paletteEntry value="98" color="#2c9e4b" alpha="255" label="98 %"/>
        <paletteEntry value="99" color="#239a46" alpha="255" label="99 %"/>
        <paletteEntry value="100" color="#1a9641" alpha="255" label="100 %"/>
      </colorPalette>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" invertColors="0" colorizeOn="0" colorizeRed="255" colorizeGreen="128" colorizeBlue="128" colorizeStrength="100"/>
    <rasterresampler maxOversampling="2"/>
    <resamplingStage>resamplingFilter</resamplingStage>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
