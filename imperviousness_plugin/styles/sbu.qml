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
        <paletteEntry value="0" color="#f0f0f0" alpha="255" label="0 %"/>
        <paletteEntry value="1" color="#ffedc3" alpha="255" label="1 %"/>
        <paletteEntry value="2" color="#fde8be" alpha="255" label="2 %"/>
        <paletteEntry value="3" color="#fbe3ba" alpha="255" label="3 %"/>
        <paletteEntry value="4" color="#fadeb5" alpha="255" label="4 %"/>
        <paletteEntry value="5" color="#f9d9b1" alpha="255" label="5 %"/>
        <paletteEntry value="6" color="#f7d5ac" alpha="255" label="6 %"/>
        <paletteEntry value="7" color="#f4d0a8" alpha="255" label="7 %"/>
        <paletteEntry value="8" color="#f2cba4" alpha="255" label="8 %"/>
        <paletteEntry value="9" color="#f1c7a0" alpha="255" label="9 %"/>
        <paletteEntry value="10" color="#efc29c" alpha="255" label="10 %"/>
        <paletteEntry value="11" color="#edbe98" alpha="255" label="11 %"/>
        <paletteEntry value="12" color="#ecba94" alpha="255" label="12 %"/>
        <paletteEntry value="13" color="#ebb690" alpha="255" label="13 %"/>
        <paletteEntry value="14" color="#e8b28d" alpha="255" label="14 %"/>
        <paletteEntry value="15" color="#e6ae89" alpha="255" label="15 %"/>
        <paletteEntry value="16" color="#e4aa86" alpha="255" label="16 %"/>
        <paletteEntry value="17" color="#e3a682" alpha="255" label="17 %"/>
        <paletteEntry value="18" color="#e1a27f" alpha="255" label="18 %"/>
        <paletteEntry value="19" color="#df9e7b" alpha="255" label="19 %"/>
        <paletteEntry value="20" color="#de9b78" alpha="255" label="20 %"/>
        <paletteEntry value="21" color="#dc9775" alpha="255" label="21 %"/>
        <paletteEntry value="22" color="#da9472" alpha="255" label="22 %"/>
        <paletteEntry value="23" color="#d9906f" alpha="255" label="23 %"/>
        <paletteEntry value="24" color="#d78d6c" alpha="255" label="24 %"/>
        <paletteEntry value="25" color="#d58a69" alpha="255" label="25 %"/>
        <paletteEntry value="26" color="#d48766" alpha="255" label="26 %"/>
        <paletteEntry value="27" color="#d28464" alpha="255" label="27 %"/>
        <paletteEntry value="28" color="#d18061" alpha="255" label="28 %"/>
        <paletteEntry value="29" color="#cf7d5e" alpha="255" label="29 %"/>
        <paletteEntry value="30" color="#cd7a5c" alpha="255" label="30 %"/>
        <paletteEntry value="31" color="#cc7859" alpha="255" label="31 %"/>
        <paletteEntry value="32" color="#ca7557" alpha="255" label="32 %"/>
        <paletteEntry value="33" color="#c97254" alpha="255" label="33 %"/>
        <paletteEntry value="34" color="#c76f52" alpha="255" label="34 %"/>
        <paletteEntry value="35" color="#c66d50" alpha="255" label="35 %"/>
        <paletteEntry value="36" color="#c46a4e" alpha="255" label="36 %"/>
        <paletteEntry value="37" color="#c2674b" alpha="255" label="37 %"/>
        <paletteEntry value="38" color="#c16549" alpha="255" label="38 %"/>
        <paletteEntry value="39" color="#bf6247" alpha="255" label="39 %"/>
        <paletteEntry value="40" color="#be6045" alpha="255" label="40 %"/>
        <paletteEntry value="41" color="#bc5e43" alpha="255" label="41 %"/>
        <paletteEntry value="42" color="#bb5b41" alpha="255" label="42 %"/>
        <paletteEntry value="43" color="#b9593f" alpha="255" label="43 %"/>
        <paletteEntry value="44" color="#b8573d" alpha="255" label="44 %"/>
        <paletteEntry value="45" color="#b6543b" alpha="255" label="45 %"/>
        <paletteEntry value="46" color="#b5523a" alpha="255" label="46 %"/>
        <paletteEntry value="47" color="#b45038" alpha="255" label="47 %"/>
        <paletteEntry value="48" color="#b24e36" alpha="255" label="48 %"/>
        <paletteEntry value="49" color="#b14c34" alpha="255" label="49 %"/>
        <paletteEntry value="50" color="#af4a33" alpha="255" label="50 %"/>
        <paletteEntry value="51" color="#ae4831" alpha="255" label="51 %"/>
        <paletteEntry value="52" color="#ac4630" alpha="255" label="52 %"/>
        <paletteEntry value="53" color="#ab442e" alpha="255" label="53 %"/>
        <paletteEntry value="54" color="#aa432d" alpha="255" label="54 %"/>
        <paletteEntry value="55" color="#a8412b" alpha="255" label="55 %"/>
        <paletteEntry value="56" color="#a73f2a" alpha="255" label="56 %"/>
        <paletteEntry value="57" color="#a53d28" alpha="255" label="57 %"/>
        <paletteEntry value="58" color="#a43b27" alpha="255" label="58 %"/>
        <paletteEntry value="59" color="#a33a25" alpha="255" label="59 %"/>
        <paletteEntry value="60" color="#a13824" alpha="255" label="60 %"/>
        <paletteEntry value="61" color="#a03723" alpha="255" label="61 %"/>
        <paletteEntry value="62" color="#9f3522" alpha="255" label="62 %"/>
        <paletteEntry value="63" color="#9d3320" alpha="255" label="63 %"/>
        <paletteEntry value="64" color="#9c321f" alpha="255" label="64 %"/>
        <paletteEntry value="65" color="#9b301e" alpha="255" label="65 %"/>
        <paletteEntry value="66" color="#992f1d" alpha="255" label="66 %"/>
        <paletteEntry value="67" color="#982e1c" alpha="255" label="67 %"/>
        <paletteEntry value="68" color="#972c1b" alpha="255" label="68 %"/>
        <paletteEntry value="69" color="#952b1a" alpha="255" label="69 %"/>
        <paletteEntry value="70" color="#942a18" alpha="255" label="70 %"/>
        <paletteEntry value="71" color="#932817" alpha="255" label="71 %"/>
        <paletteEntry value="72" color="#922716" alpha="255" label="72 %"/>
        <paletteEntry value="73" color="#902614" alpha="255" label="73 %"/>
        <paletteEntry value="74" color="#8f2413" alpha="255" label="74 %"/>
        <paletteEntry value="75" color="#8e2313" alpha="255" label="75 %"/>
        <paletteEntry value="76" color="#8d2213" alpha="255" label="76 %"/>
        <paletteEntry value="77" color="#8b2112" alpha="255" label="77 %"/>
        <paletteEntry value="78" color="#8a2011" alpha="255" label="78 %"/>
        <paletteEntry value="79" color="#891f10" alpha="255" label="79 %"/>
        <paletteEntry value="80" color="#881d0f" alpha="255" label="80 %"/>
        <paletteEntry value="81" color="#861c0e" alpha="255" label="81 %"/>
        <paletteEntry value="82" color="#851b0d" alpha="255" label="82 %"/>
        <paletteEntry value="83" color="#841a0d" alpha="255" label="83 %"/>
        <paletteEntry value="84" color="#83190c" alpha="255" label="84 %"/>
        <paletteEntry value="85" color="#82180b" alpha="255" label="85 %"/>
        <paletteEntry value="86" color="#801709" alpha="255" label="86 %"/>
        <paletteEntry value="87" color="#7f1609" alpha="255" label="87 %"/>
        <paletteEntry value="88" color="#7e1408" alpha="255" label="88 %"/>
        <paletteEntry value="89" color="#7d1407" alpha="255" label="89 %"/>
        <paletteEntry value="90" color="#7c1307" alpha="255" label="90 %"/>
        <paletteEntry value="91" color="#7b1306" alpha="255" label="91 %"/>
        <paletteEntry value="92" color="#791206" alpha="255" label="92 %"/>
        <paletteEntry value="93" color="#781106" alpha="255" label="93 %"/>
        <paletteEntry value="94" color="#771005" alpha="255" label="94 %"/>
        <paletteEntry value="95" color="#760f04" alpha="255" label="95 %"/>
        <paletteEntry value="96" color="#750f04" alpha="255" label="96 %"/>
        <paletteEntry value="97" color="#740e03" alpha="255" label="97 %"/>
        <paletteEntry value="98" color="#730d03" alpha="255" label="98 %"/>
        <paletteEntry value="99" color="#720c02" alpha="255" label="99 %"/>
        <paletteEntry value="100" color="#710c02" alpha="255" label="100 %"/>
      </colorPalette>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" invertColors="0" colorizeOn="0" colorizeRed="255" colorizeGreen="128" colorizeBlue="128" colorizeStrength="100"/>
    <rasterresampler maxOversampling="2"/>
    <resamplingStage>resamplingFilter</resamplingStage>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
