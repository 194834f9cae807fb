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
        <paletteEntry value="0" color="#036600" alpha="255" label="-100 (decrease)"/>
        <paletteEntry value="1" color="#046800" alpha="255" label="-99 (decrease)"/>
        <paletteEntry value="2" color="#056900" alpha="255" label="-98 (decrease)"/>
        <paletteEntry value="3" color="#076b00" alpha="255" label="-97 (decrease)"/>
        <paletteEntry value="4" color="#086c00" alpha="255" label="-96 (decrease)"/>
        <paletteEntry value="5" color="#096e00" alpha="255" label="-95 (decrease)"/>
        <paletteEntry value="6" color="#0a6f00" alpha="255" label="-94 (decrease)"/>
        <paletteEntry value="7" color="#0b7100" alpha="255" label="-93 (decrease)"/>
        <paletteEntry value="8" color="#0d7200" alpha="255" label="-92 (decrease)"/>
        <paletteEntry value="9" color="#0e7400" alpha="255" label="-91 (decrease)"/>
        <paletteEntry value="10" color="#0f7500" alpha="255" label="-90 (decrease)"/>
        <paletteEntry value="11" color="#107700" alpha="255" label="-89 (decrease)"/>
        <paletteEntry value="12" color="#117800" alpha="255" label="-88 (decrease)"/>
        <paletteEntry value="13" color="#137a00" alpha="255" label="-87 (decrease)"/>
        <paletteEntry value="14" color="#147b00" alpha="255" label="-86 (decrease)"/>
        <paletteEntry value="15" color="#157d00" alpha="255" label="-85 (decrease)"/>
        <paletteEntry value="16" color="#167e00" alpha="255" label="-84 (decrease)"/>
        <paletteEntry value="17" color="#178000" alpha="255" label="-83 (decrease)"/>
        <paletteEntry value="18" color="#198100" alpha="255" label="-82 (decrease)"/>
        <paletteEntry value="19" color="#1a8300" alpha="255" label="-81 (decrease)"/>
        <paletteEntry value="20" color="#1b8400" alpha="255" label="-80 (decrease)"/>
        <paletteEntry value="21" color="#1c8600" alpha="255" label="-79 (decrease)"/>
        <paletteEntry value="22" color="#1d8700" alpha="255" label="-78 (decrease)"/>
        <paletteEntry value="23" color="#1f8900" alpha="255" label="-77 (decrease)"/>
        <paletteEntry value="24" color="#208a00" alpha="255" label="-76 (decrease)"/>
        <paletteEntry value="25" color="#218c00" alpha="255" label="-75 (decrease)"/>
        <paletteEntry value="26" color="#228e00" alpha="255" label="-74 (decrease)"/>
        <paletteEntry value="27" color="#238f00" alpha="255" label="-73 (decrease)"/>
        <paletteEntry value="28" color="#259100" alpha="255" label="-72 (decrease)"/>
        <paletteEntry value="29" color="#269200" alpha="255" label="-71 (decrease)"/>
        <paletteEntry value="30" color="#279400" alpha="255" label="-70 (decrease)"/>
        <paletteEntry value="31" color="#289500" alpha="255" label="-69 (decrease)"/>
        <paletteEntry value="32" color="#299700" alpha="255" label="-68 (decrease)"/>
        <paletteEntry value="33" color="#2b9800" alpha="255" label="-67 (decrease)"/>
        <paletteEntry value="34" color="#2c9a00" alpha="255" label="-66 (decrease)"/>
        <paletteEntry value="35" color="#2d9b00" alpha="255" label="-65 (decrease)"/>
        <paletteEntry value="36" color="#2e9d00" alpha="255" label="-64 (decrease)"/>
        <paletteEntry value="37" color="#2f9e00" alpha="255" label="-63 (decrease)"/>
        <paletteEntry value="38" color="#31a000" alpha="255" label="-62 (decrease)"/>
        <paletteEntry value="39" color="#32a100" alpha="255" label="-61 (decrease)"/>
        <paletteEntry value="40" color="#33a300" alpha="255" label="-60 (decrease)"/>
        <paletteEntry value="41" color="#34a400" alpha="255" label="-59 (decrease)"/>
        <paletteEntry value="42" color="#35a600" alpha="255" label="-58 (decrease)"/>
        <paletteEntry value="43" color="#37a700" alpha="255" label="-57 (decrease)"/>
        <paletteEntry value="44" color="#38a900" alpha="255" label="-56 (decrease)"/>
        <paletteEntry value="45" color="#39aa00" alpha="255" label="-55 (decrease)"/>
        <paletteEntry value="46" color="#3aac00" alpha="255" label="-54 (decrease)"/>
        <paletteEntry value="47" color="#3bad00" alpha="255" label="-53 (decrease)"/>
        <paletteEntry value="48" color="#3daf00" alpha="255" label="-52 (decrease)"/>
        <paletteEntry value="49" color="#3eb000" alpha="255" label="-51 (decrease)"/>
        <paletteEntry value="50" color="#3fb200" alpha="255" label="-50 (decrease)"/>
        <paletteEntry value="51" color="#40b400" alpha="255" label="-49 (decrease)"/>
        <paletteEntry value="52" color="#42b500" alpha="255" label="-48 (decrease)"/>
        <paletteEntry value="53" color="#43b700" alpha="255" label="-47 (decrease)"/>
        <paletteEntry value="54" color="#44b800" alpha="255" label="-46 (decrease)"/>
        <paletteEntry value="55" color="#46ba00" alpha="255" label="-45 (decrease)"/>
        <paletteEntry value="56" color="#47bb00" alpha="255" label="-44 (decrease)"/>
        <paletteEntry value="57" color="#48bd00" alpha="255" label="-43 (decrease)"/>
        <paletteEntry value="58" color="#49bf00" alpha="255" label="-42 (decrease)"/>
        <paletteEntry value="59" color="#4bc000" alpha="255" label="-41 (decrease)"/>
        <paletteEntry value="60" color="#4cc200" alpha="255" label="-40 (decrease)"/>
        <paletteEntry value="61" color="#4dc300" alpha="255" label="-39 (decrease)"/>
        <paletteEntry value="62" color="#4fc500" alpha="255" label="-38 (decrease)"/>
        <paletteEntry value="63" color="#50c600" alpha="255" label="-37 (decrease)"/>
        <paletteEntry value="64" color="#51c800" alpha="255" label="-36 (decrease)"/>
        <paletteEntry value="65" color="#53ca00" alpha="255" label="-35 (decrease)"/>
        <paletteEntry value="66" color="#54cb00" alpha="255" label="-34 (decrease)"/>
        <paletteEntry value="67" color="#55cd00" alpha="255" label="-33 (decrease)"/>
        <paletteEntry value="68" color="#57ce00" alpha="255" label="-32 (decrease)"/>
        <paletteEntry value="69" color="#58d000" alpha="255" label="-31 (decrease)"/>
        <paletteEntry value="70" color="#59d100" alpha="255" label="-30 (decrease)"/>
        <paletteEntry value="71" color="#5ad300" alpha="255" label="-29 (decrease)"/>
        <paletteEntry value="72" color="#5cd500" alpha="255" label="-28 (decrease)"/>
        <paletteEntry value="73" color="#5dd600" alpha="255" label="-27 (decrease)"/>
        <paletteEntry value="74" color="#5ed800" alpha="255" label="-26 (decrease)"/>
        <paletteEntry value="75" color="#60d900" alpha="255" label="-25 (decrease)"/>
        <paletteEntry value="76" color="#61db00" alpha="255" label="-24 (decrease)"/>
        <paletteEntry value="77" color="#62dc00" alpha="255" label="-23 (decrease)"/>
        <paletteEntry value="78" color="#64de00" alpha="255" label="-22 (decrease)"/>
        <paletteEntry value="79" color="#65e000" alpha="255" label="-21 (decrease)"/>
        <paletteEntry value="80" color="#66e100" alpha="255" label="-20 (decrease)"/>
        <paletteEntry value="81" color="#67e300" alpha="255" label="-19 (decrease)"/>
        <paletteEntry value="82" color="#69e400" alpha="255" label="-18 (decrease)"/>
        <paletteEntry value="83" color="#6ae600" alpha="255" label="-17 (decrease)"/>
        <paletteEntry value="84" color="#6be700" alpha="255" label="-16 (decrease)"/>
        <paletteEntry value="85" color="#6de900" alpha="255" label="-15 (decrease)"/>
        <paletteEntry value="86" color="#6eeb00" alpha="255" label="-14 (decrease)"/>
        <paletteEntry value="87" color="#6fec00" alpha="255" label="-13 (decrease)"/>
        <paletteEntry value="88" color="#71ee00" alpha="255" label="-12 (decrease)"/>
        <paletteEntry value="89" color="#72ef00" alpha="255" label="-11 (decrease)"/>
        <paletteEntry value="90" color="#73f100" alpha="255" label="-10 (decrease)"/>
        <paletteEntry value="91" color="#75f200" alpha="255" label="-9 (decrease)"/>
        <paletteEntry value="92" color="#76f400" alpha="255" label="-8 (decrease)"/>
        <paletteEntry value="93" color="#77f600" alpha="255" label="-7 (decrease)"/>
        <paletteEntry value="94" color="#78f700" alpha="255" label="-6 (decrease)"/>
        <paletteEntry value="95" color="#7af900" alpha="255" label="-5 (decrease)"/>
        <paletteEntry value="96" color="#7bfa00" alpha="255" label="-4 (decrease)"/>
        <paletteEntry value="97" color="#7cfc00" alpha="255" label="-3 (decrease)"/>
        <paletteEntry value="98" color="#7efd00" alpha="255" label="-2 (decrease)"/>
        <paletteEntry value="99" color="#7fff00" alpha="255" label="-1 (decrease)"/>
        <paletteEntry value="100" color="#b2b2b2" alpha="255" label="0 (no change)"/>
        <paletteEntry value="101" color="#ffff00" alpha="255" label="+1 (increase)"/>
        <paletteEntry value="102" color="#fffe00" alpha="255" label="+2 (increase)"/>
        <paletteEntry value="103" color="#fffc00" alpha="255" label="+3 (increase)"/>
        <paletteEntry value="104" color="#fffb00" alpha="255" label="+4 (increase)"/>
        <paletteEntry value="105" color="#fffa00" alpha="255" label="+5 (increase)"/>
        <paletteEntry value="106" color="#fff800" alpha="255" label="+6 (increase)"/>
        <paletteEntry value="107" color="#fff700" alpha="255" label="+7 (increase)"/>
        <paletteEntry value="108" color="#fff600" alpha="255" label="+8 (increase)"/>
        <paletteEntry value="109" color="#fff500" alpha="255" label="+9 (increase)"/>
        <paletteEntry value="110" color="#fff300" alpha="255" label="+10 (increase)"/>
        <paletteEntry value="111" color="#fff200" alpha="255" label="+11 (increase)"/>
        <paletteEntry value="112" color="#fff100" alpha="255" label="+12 (increase)"/>
        <paletteEntry value="113" color="#ffef00" alpha="255" label="+13 (increase)"/>
        <paletteEntry value="114" color="#ffee00" alpha="255" label="+14 (increase)"/>
        <paletteEntry value="115" color="#ffed00" alpha="255" label="+15 (increase)"/>
        <paletteEntry value="116" color="#ffeb00" alpha="255" label="+16 (increase)"/>
        <paletteEntry value="117" color="#ffea00" alpha="255" label="+17 (increase)"/>
        <paletteEntry value="118" color="#ffe900" alpha="255" label="+18 (increase)"/>
        <paletteEntry value="119" color="#ffe700" alpha="255" label="+19 (increase)"/>
        <paletteEntry value="120" color="#ffe600" alpha="255" label="+20 (increase)"/>
        <paletteEntry value="121" color="#ffe500" alpha="255" label="+21 (increase)"/>
        <paletteEntry value="122" color="#ffe400" alpha="255" label="+22 (increase)"/>
        <paletteEntry value="123" color="#ffe200" alpha="255" label="+23 (increase)"/>
        <paletteEntry value="124" color="#ffe100" alpha="255" label="+24 (increase)"/>
        <paletteEntry value="125" color="#ffe000" alpha="255" label="+25 (increase)"/>
        <paletteEntry value="126" color="#ffde00" alpha="255" label="+26 (increase)"/>
        <paletteEntry value="127" color="#ffdd00" alpha="255" label="+27 (increase)"/>
        <paletteEntry value="128" color="#ffdc00" alpha="255" label="+28 (increase)"/>
        <paletteEntry value="129" color="#ffda00" alpha="255" label="+29 (increase)"/>
        <paletteEntry value="130" color="#ffd900" alpha="255" label="+30 (increase)"/>
        <paletteEntry value="131" color="#ffd800" alpha="255" label="+31 (increase)"/>
        <paletteEntry value="132" color="#ffd700" alpha="255" label="+32 (increase)"/>
        <paletteEntry value="133" color="#ffd500" alpha="255" label="+33 (increase)"/>
        <paletteEntry value="134" color="#ffd400" alpha="255" label="+34 (increase)"/>
        <paletteEntry value="135" color="#ffd300" alpha="255" label="+35 (increase)"/>
        <paletteEntry value="136" color="#ffd100" alpha="255" label="+36 (increase)"/>
        <paletteEntry value="137" color="#ffd000" alpha="255" label="+37 (increase)"/>
        <paletteEntry value="138" color="#ffcf00" alpha="255" label="+38 (increase)"/>
        <paletteEntry value="139" color="#ffcd00" alpha="255" label="+39 (increase)"/>
        <paletteEntry value="140" color="#ffcc00" alpha="255" label="+40 (increase)"/>
        <paletteEntry value="141" color="#ffcb00" alpha="255" label="+41 (increase)"/>
        <paletteEntry value="142" color="#ffc900" alpha="255" label="+42 (increase)"/>
        <paletteEntry value="143" color="#ffc800" alpha="255" label="+43 (increase)"/>
        <paletteEntry value="144" color="#ffc700" alpha="255" label="+44 (increase)"/>
        <paletteEntry value="145" color="#ffc600" alpha="255" label="+45 (increase)"/>
        <paletteEntry value="146" color="#ffc400" alpha="255" label="+46 (increase)"/>
        <paletteEntry value="147" color="#ffc300" alpha="255" label="+47 (increase)"/>
        <paletteEntry value="148" color="#ffc200" alpha="255" label="+48 (increase)"/>
        <paletteEntry value="149" color="#ffc000" alpha="255" label="+49 (increase)"/>
        <paletteEntry value="150" color="#ffbf00" alpha="255" label="+50 (increase)"/>
        <paletteEntry value="151" color="#ffbb00" alpha="255" label="+51 (increase)"/>
        <paletteEntry value="152" color="#ffb700" alpha="255" label="+52 (increase)"/>
        <paletteEntry value="153" color="#ffb400" alpha="255" label="+53 (increase)"/>
        <paletteEntry value="154" color="#ffb000" alpha="255" label="+54 (increase)"/>
        <paletteEntry value="155" color="#ffac00" alpha="255" label="+55 (increase)"/>
        <paletteEntry value="156" color="#ffa800" alpha="255" label="+56 (increase)"/>
        <paletteEntry value="157" color="#ffa400" alpha="255" label="+57 (increase)"/>
        <paletteEntry value="158" color="#ffa000" alpha="255" label="+58 (increase)"/>
        <paletteEntry value="159" color="#ff9d00" alpha="255" label="+59 (increase)"/>
        <paletteEntry value="160" color="#ff9900" alpha="255" label="+60 (increase)"/>
        <paletteEntry value="161" color="#ff9500" alpha="255" label="+61 (increase)"/>
        <paletteEntry value="162" color="#ff9100" alpha="255" label="+62 (increase)"/>
        <paletteEntry value="163" color="#ff8d00" alpha="255" label="+63 (increase)"/>
        <paletteEntry value="164" color="#ff8a00" alpha="255" label="+64 (increase)"/>
        <paletteEntry value="165" color="#ff8600" alpha="255" label="+65 (increase)"/>
        <paletteEntry value="166" color="#ff8200" alpha="255" label="+66 (increase)"/>
        <paletteEntry value="167" color="#ff7e00" alpha="255" label="+67 (increase)"/>
        <paletteEntry value="168" color="#ff7a00" alpha="255" label="+68 (increase)"/>
        <paletteEntry value="169" color="#ff7600" alpha="255" label="+69 (increase)"/>
        <paletteEntry value="170" color="#ff7300" alpha="255" label="+70 (increase)"/>
        <paletteEntry value="171" color="#ff6f00" alpha="255" label="+71 (increase)"/>
        <paletteEntry value="172" color="#ff6b00" alpha="255" label="+72 (increase)"/>
        <paletteEntry value="173" color="#ff6700" alpha="255" label="+73 (increase)"/>
        <paletteEntry value="174" color="#ff6300" alpha="255" label="+74 (increase)"/>
        <paletteEntry value="175" color="#ff6000" alpha="255" label="+75 (increase)"/>
        <paletteEntry value="176" color="#ff5c00" alpha="255" label="+76 (increase)"/>
        <paletteEntry value="177" color="#ff5800" alpha="255" label="+77 (increase)"/>
        <paletteEntry value="178" color="#ff5400" alpha="255" label="+78 (increase)"/>
        <paletteEntry value="179" color="#ff5000" alpha="255" label="+79 (increase)"/>
        <paletteEntry value="180" color="#ff4c00" alpha="255" label="+80 (increase)"/>
        <paletteEntry value="181" color="#ff4900" alpha="255" label="+81 (increase)"/>
        <paletteEntry value="182" color="#ff4500" alpha="255" label="+82 (increase)"/>
        <paletteEntry value="183" color="#ff4100" alpha="255" label="+83 (increase)"/>
        <paletteEntry value="184" color="#ff3d00" alpha="255" label="+84 (increase)"/>
        <paletteEntry value="185" color="#ff3900" alpha="255" label="+85 (increase)"/>
        <paletteEntry value="186" color="#ff3500" alpha="255" label="+86 (increase)"/>
        <paletteEntry value="187" color="#ff3200" alpha="255" label="+87 (increase)"/>
        <paletteEntry value="188" color="#ff2e00" alpha="255" label="+88 (increase)"/>
        <paletteEntry value="189" color="#ff2a00" alpha="255" label="+89 (increase)"/>
        <paletteEntry value="190" color="#ff2600" alpha="255" label="+90 (increase)"/>
        <paletteEntry value="191" color="#ff2200" alpha="255" label="+91 (increase)"/>
        <paletteEntry value="192" color="#ff1f00" alpha="255" label="+92 (increase)"/>
        <paletteEntry value="193" color="#ff1b00" alpha="255" label="+93 (increase)"/>
        <paletteEntry value="194" color="#ff1700" alpha="255" label="+94 (increase)"/>
        <paletteEntry value="195" color="#ff1300" alpha="255" label="+95 (increase)"/>
        <paletteEntry value="196" color="#ff0f00" alpha="255" label="+96 (increase)"/>
        <paletteEntry value="197" color="#ff0b00" alpha="255" label="+97 (increase)"/>
        <paletteEntry value="198" color="#ff0800" alpha="255" label="+98 (increase)"/>
        <paletteEntry value="199" color="#ff0400" alpha="255" label="+99 (increase)"/>
        <paletteEntry value="200" color="#ff0000" alpha="255" label="+100 (increase)"/>
        <paletteEntry value="201" color="#f0f0f0" alpha="255" label="zero in both years"/>
      </colorPalette>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" invertColors="0" colorizeOn="0" colorizeRed="255" colorizeGreen="128" colorizeBlue="128" colorizeStrength="100"/>
    <rasterresampler maxOversampling="2"/>
    <resamplingStage>resamplingFilter</resamplingStage>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
